#Requires -Version 7.4
<#
.SYNOPSIS
    The whole cleanup end to end against a local registry: usage, inventory, plan, dry run, deletion, garbage collection.

.DESCRIPTION
    Started by `build.ps1 Demo`. Starts a local docker-registry with its own temporary storage, pushes Domino-like
    sample images (samples/README.md tells each one's story), starts a MongoDB stand-in holding a few of Domino's
    records (a stopped workspace, a run, model versions), reads the bundled cluster snapshot
    samples/cluster-snapshot.json as the Kubernetes usage source, and runs the module's cmdlets the way an admin would.
    Ends with the registry's own garbage collection, compares the bytes it freed with the plan's prediction, and
    compares Domino's records with what is left. The registry and the stand-in are stopped whatever happens; the exit
    code is non-zero when anything fails or the prediction is off.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    # Before deleting, the demo writes the HTML report of the registry and its plan here (Export-RegistryReport), and a
    # screenshot of it next to it when Debian's chromium is installed; its last lines say where they are.
    [string] $ReportPath = (Join-Path (Split-Path $PSScriptRoot) 'out/demo/registry-report.html')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'tools/RegistryLab.psm1') -Force
Import-Module (Join-Path $ModulePath 'RegistryCleaner.psd1') -Force
$snapshot = Join-Path $root 'samples/cluster-snapshot.json'
$work = Join-Path ([IO.Path]::GetTempPath()) "registrycleaner-demo-$PID"
New-Item -ItemType Directory -Path $work -Force | Out-Null

function Write-Heading([string] $Text) {
    Write-Host ''
    Write-Host "=== $Text" -ForegroundColor Cyan
}

function Show-Table {
    # The demo's output is often redirected (80 columns); render tables at a width that keeps every column.
    param([Parameter(ValueFromPipeline)] $InputObject, [object[]] $Property)
    begin { $items = [Collections.Generic.List[object]]::new() }
    process { $items.Add($InputObject) }
    end {
        $table = if ($Property) { $items | Format-Table -Property $Property -AutoSize } else { $items | Format-Table -AutoSize }
        $table | Out-String -Width 250 | Write-Host
    }
}

function Format-Bytes([long] $Bytes) {
    $units = 'B', 'KB', 'MB', 'GB', 'TB'
    $value = [double] $Bytes
    $i = 0
    while ($value -ge 1024 -and $i -lt $units.Count - 1) { $value /= 1024; $i++ }
    if ($i -eq 0) { return "$Bytes B" }
    '{0:N1} {1}' -f $value, $units[$i]
}

$lab = $null
$mongo = $null
$exitCode = 0
try {
    Write-Heading 'Starting a local registry and pushing Domino-like sample images'
    $labOut = Join-Path $work 'lab'
    & dotnet build (Join-Path $root 'tests/RegistryCleaner.Lab') -c Release -o $labOut --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'Building tests/RegistryCleaner.Lab failed.' }
    $lab = Start-LabRegistry
    $pushed = & dotnet (Join-Path $labOut 'RegistryCleaner.Lab.dll') seed-demo --url $lab.Url | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw 'Pushing the sample images failed.' }
    Write-Host "Registry $($lab.Url) (storage $($lab.StoragePath)): $(@($pushed).Count) tags in dominodatalab/environment and dominodatalab/model."

    # Domino's MongoDB: a stand-in speaking the wire protocol, holding the records samples/README.md describes.
    $start = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @((Join-Path $labOut 'RegistryCleaner.Lab.dll'), 'mongo-demo')) { $start.ArgumentList.Add($a) }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $mongo = [Diagnostics.Process]::Start($start)
    $mongoInfo = $mongo.StandardOutput.ReadLine() | ConvertFrom-Json
    Write-Host "MongoDB stand-in $($mongoInfo.uri), database $($mongoInfo.database): $(($mongoInfo.documents.PSObject.Properties | ForEach-Object { "$($_.Value) $($_.Name)" }) -join ', ')."

    # The demo's configuration, as an admin would write it: this registry, Domino's MongoDB, the journal folder, and
    # nothing secret. mongo.usage stays at its default, auto: Domino's repositories are planned with Domino's records.
    $config = Join-Path $work 'config.yaml'
    Set-Content $config @"
registry:
  url: "$($lab.Url)"
analysis:
  output_dir: "$(Join-Path $work 'reports')"
mongo:
  uri: "$($mongoInfo.uri)"
  database: "$($mongoInfo.database)"
"@
    $env:REGISTRY_CLEANER_CONFIG = $config
    Write-Host "Configuration: `$env:REGISTRY_CLEANER_CONFIG = $config (registry.url: $($lab.Url), mongo.uri: the stand-in)"

    Write-Heading "1. Images in use: Get-WorkloadImage -Path samples/cluster-snapshot.json"
    $inUse = @(Get-WorkloadImage -Path $snapshot)
    $inUse | Show-Table

    Write-Heading "2. Images Domino's records pin: Get-DominoImageUsage"
    Get-DominoImageUsage | Show-Table
    Write-Host 'Who still uses Python revision 2? Get-DominoImageUsage -ObjectId 659c7bce85f6381e675bb205 | Where-Object Tag -like *-2'
    Get-DominoImageUsage -ObjectId 659c7bce85f6381e675bb205 | Where-Object Tag -like '*-2' |
        ForEach-Object { Write-Host "  $($_.Reason)" }

    Write-Heading '3. Registry inventory: Get-RegistryImage -MongoUsage'
    Get-RegistryImage -MongoUsage | Sort-Object Repository, Tag |
        Show-Table -Property Repository, Tag, @{ n = 'Digest'; e = { $_.Digest.Substring(0, 19) + [char]0x2026 } }, @{ n = 'Size'; e = { Format-Bytes $_.Size } }, Created, EnvironmentName, Project, Owner

    # The registry's own storage, read-only: untagged manifests are planned too, so the bytes are exact.
    $storage = $lab.StoragePath
    Write-Heading '4. Deletion plan: Get-UnusedImage -InUse $inUse -StoragePath $storage | Sort-Object ReclaimableBytes -Descending'
    Write-Host 'Kubernetes usage comes from the snapshot (-InUse); Domino''s records are read too (mongo.usage: auto).'
    $verbose = $null
    $plan = @(Get-UnusedImage -InUse $inUse -StoragePath $storage -Verbose 4>&1 | Tee-Object -Variable verbose |
        Where-Object { $_ -isnot [Management.Automation.VerboseRecord] } | Sort-Object ReclaimableBytes -Descending)
    $plan | Show-Table
    Write-Host 'Why the other images stay (Get-UnusedImage -Verbose): Kubernetes workloads and Domino''s records.'
    $verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] -and $_.Message -like 'kept:*' } |
        ForEach-Object { Write-Host "  $($_.Message)" }
    $pinnedByWorkspace = @($verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] -and $_.Message -like 'kept:*659c7bce85f6381e675bb205-2 *Domino workspace*' })
    if (-not $pinnedByWorkspace) { throw 'Python revision 2 should be kept because the stopped workspace pins it.' }
    $predicted = ($plan | Measure-Object ReclaimableBytes -Sum).Sum
    Write-Host "Get-UnusedImage | Measure-Object ReclaimableBytes -Sum: $predicted bytes ($(Format-Bytes $predicted)) freed after garbage collection."
    Write-Host 'Space per owner: $plan | Group-Object Owner'
    $plan | Group-Object Owner | ForEach-Object {
        [pscustomobject]@{
            Owner       = if ($_.Name) { $_.Name } else { '(no Domino record)' }
            Images      = $_.Count
            Reclaimable = Format-Bytes ($_.Group | Measure-Object ReclaimableBytes -Sum).Sum
        }
    } | Show-Table

    Write-Heading '4b. The report: Export-RegistryReport -Path registry-report.html -InUse $inUse -StoragePath $storage'
    New-Item -ItemType Directory -Path (Split-Path $ReportPath) -Force | Out-Null
    $report = Export-RegistryReport -Path $ReportPath -InUse $inUse -StoragePath $storage -Force -WarningAction SilentlyContinue
    $report | Format-List | Out-String -Width 250 | Write-Host
    if ($report.ReclaimableBytes -ne $predicted) { throw "The report's reclaimable bytes ($($report.ReclaimableBytes)) differ from the plan's ($predicted)." }
    $screenshot = [IO.Path]::ChangeExtension($ReportPath, '.png')
    if (Get-Command chromium -ErrorAction Ignore) {
        $profileDir = Join-Path $work 'chromium'
        $url = [Uri]::new((Resolve-Path -LiteralPath $ReportPath).Path).AbsoluteUri
        & chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "--user-data-dir=$profileDir" "--screenshot=$screenshot" '--window-size=1000,1300' $url 2>$null | Out-Null
    }

    Write-Heading '5. Dry run: Remove-UnusedImage -InUse $inUse -StoragePath $storage -WhatIf'
    $before = Get-LabBlobBytes $lab
    Remove-UnusedImage -InUse $inUse -StoragePath $storage -WhatIf | Out-Host
    if ((Get-LabBlobBytes $lab) -ne $before) { throw '-WhatIf changed the registry storage.' }
    Write-Host 'Registry storage unchanged.'

    Write-Heading '6. Deletion: Remove-UnusedImage -InUse $inUse -StoragePath $storage -Confirm:$false'
    $deleted = @(Remove-UnusedImage -InUse $inUse -StoragePath $storage -Confirm:$false)
    $deleted | Show-Table
    $failed = @($deleted | Where-Object Status -eq 'Failed')
    if ($failed) { $exitCode = 1; Write-Host "$($failed.Count) deletions failed." -ForegroundColor Red }

    Write-Heading '7. The registry''s garbage collection: docker-registry garbage-collect'
    $gcOutput = Invoke-LabGarbageCollect $lab
    $after = Get-LabBlobBytes $lab
    $freed = $before - $after
    Write-Host "$(@($gcOutput | Where-Object { $_ -match 'blob eligible for deletion' }).Count) blobs deleted by garbage collection."
    Write-Host ("Predicted: {0,12:N0} bytes ({1})" -f $predicted, (Format-Bytes $predicted))
    Write-Host ("Freed:     {0,12:N0} bytes ({1})" -f $freed, (Format-Bytes $freed))
    if ($freed -eq $predicted) {
        Write-Host 'The prediction was exact.' -ForegroundColor Green
    }
    else {
        Write-Host 'The prediction and what garbage collection freed differ.' -ForegroundColor Red
        $exitCode = 1
    }

    Write-Heading 'What is left'
    Get-RegistryImage | Sort-Object Repository, Tag | Show-Table -Property Repository, Tag, Digest

    Write-Heading "8. Domino's records against the registry: Compare-DominoRegistry"
    $differences = @(Compare-DominoRegistry)
    $differences | Show-Table
    Write-Host 'The revision records whose images are gone can go too (dry run):'
    $differences | Where-Object Difference -eq ImageMissing | Remove-MongoEnvRevision -WhatIf

    Write-Heading 'The report'
    Write-Host "The registry and its plan before the cleanup, as one HTML page (open it in any browser, no network needed):"
    Write-Host "  $($report.Path)" -ForegroundColor Green
    if (Test-Path $screenshot) { Write-Host "  $screenshot (a screenshot of it)" }
}
catch {
    Write-Host "Demo failed: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host $_.ScriptStackTrace
    $exitCode = 1
}
finally {
    $env:REGISTRY_CLEANER_CONFIG = $null
    if ($mongo) { $mongo.StandardInput.Close(); if (-not $mongo.WaitForExit(10000)) { $mongo.Kill() } }
    if ($lab) { Stop-LabRegistry $lab }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
exit $exitCode
