#Requires -Version 7.4
# Runs every *.Tests.ps1 under tests/pester, in its folders (one per cmdlet, Module/ for the module-wide files), against
# the built module; build.ps1 Test starts this in a fresh pwsh -NoProfile -NonInteractive. Writes the counts to
# -ResultPath and exits non-zero on any failure.
param(
    [Parameter(Mandatory)][string] $PesterPath,
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $ResultPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$env:REGISTRYCLEANER_MODULE_PATH = (Resolve-Path $ModulePath).Path
# The cmdlets' image configuration cache goes to a folder of this run, not the user's own cache folder.
$env:REGISTRY_CLEANER_CACHE_DIR = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "registrycleaner-pester-cache-$PID") -Force).FullName

$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Should.ErrorAction = 'Continue'
$result = Invoke-Pester -Configuration $configuration
# Every file in every folder must have run: one left out would take its tests with it without a failure.
$ran = @($result.Containers | ForEach-Object { "$($_.Item)" })
$notRun = @(Get-ChildItem -LiteralPath $PSScriptRoot -Recurse -File -Filter *.Tests.ps1 | Where-Object FullName -NotIn $ran)

New-Item -ItemType Directory -Path (Split-Path $ResultPath) -Force | Out-Null
$failures = @(
    foreach ($test in $result.Failed) {
        $message = ($test.ErrorRecord | Select-Object -First 1 | ForEach-Object { "$_" }) -split '\r?\n' | Select-Object -First 2
        '{0}: {1}' -f $test.ExpandedPath, ($message -join ' | ')
    }
    foreach ($block in $result.FailedBlocks) { '{0}: the block failed ({1})' -f $block.ExpandedPath, ($block.ErrorRecord | Select-Object -First 1) }
    foreach ($container in $result.FailedContainers) { '{0}: the file failed ({1})' -f $container.Item, ($container.ErrorRecord | Select-Object -First 1) }
    foreach ($file in $notRun) { '{0}: the file did not run' -f $file.FullName }
)
[pscustomobject]@{
    Passed   = $result.PassedCount
    Failed   = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount + $notRun.Count
    Skipped  = $result.SkippedCount
    Failures = $failures
} | ConvertTo-Json | Set-Content -LiteralPath $ResultPath
if ($result.Result -ne 'Passed' -or $notRun.Count -gt 0) { exit 1 }
exit 0
