#Requires -Version 7.4
<#
.SYNOPSIS
    The one entry point for building, testing, demonstrating, benchmarking and packaging RegistryCleaner.

.DESCRIPTION
    Run from a fresh clone with:  dotnet tool restore && dotnet pwsh ./build.ps1 <Task>

    Build    Writes the importable module to out/RegistryCleaner (manifest, assemblies, formats, help).
    Test     Build, then the xunit tests, then the Pester tests in a fresh pwsh -NoProfile -NonInteractive.
             Installs what the tests need (Debian: docker-registry, apache2-utils, openssl, buildah, podman, skopeo,
             umoci) when running as root.
    Demo     Build, start a local registry with Domino-like sample images, and run the whole cleanup end to end.
    Bench    Build, then measure speed and memory against the alternatives; writes bench/results-<date>-<hhmm>.json.
    Package  Build, then write out/packages/RegistryCleaner.<version>.nupkg for Install-PSResource.

.PARAMETER Task
    Build, Test, Demo, Bench or Package.

.PARAMETER Configuration
    The .NET build configuration (Release by default).

.PARAMETER Tags
    Bench only: the sizes to measure, in tags, one after another in the same run (default 1000,10000). Each size is
    written straight into a registry's filesystem storage, so `-Tags 100000` takes minutes to seed. From a shell,
    `-Tags 1000,10000` arrives as one string and is split on commas.

.PARAMETER TestFilter
    Test only: an xunit filter expression (dotnet test --filter) to run a subset; Pester still runs in full.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    [string[]] $Tags = @('1000', '10000'),

    [string] $TestFilter
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Tasks = [ordered]@{
    Build   = 'Write the importable module to out/RegistryCleaner'
    Test    = 'Build, then run the xunit and Pester tests'
    Demo    = 'Run the whole cleanup end to end against a local registry'
    Bench   = 'Measure speed and memory against the alternatives'
    Package = 'Write a .nupkg of the module for Install-PSResource'
}
if (-not $Tasks.Contains($Task)) {
    $list = ($Tasks.GetEnumerator() | ForEach-Object { '  {0,-8} {1}' -f $_.Key, $_.Value }) -join [Environment]::NewLine
    Write-Host "Unknown task '$Task'. The tasks are:$([Environment]::NewLine)$list" -ForegroundColor Red
    exit 2
}

$Root = $PSScriptRoot
$OutDir = Join-Path $Root 'out'
$ModuleOut = Join-Path $OutDir 'RegistryCleaner'
$ModuleName = 'RegistryCleaner'

function Invoke-Native {
    # Runs a native command and throws when it fails, so every task stops at the first failure.
    param([Parameter(Mandatory)][string] $FilePath, [string[]] $ArgumentList = @())
    & $FilePath @ArgumentList | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = & dotnet nuget locals global-packages --list
    if ($LASTEXITCODE -ne 0 -or -not ($line -match 'global-packages:\s*(.+)$')) {
        throw 'Cannot find the NuGet global packages folder (dotnet nuget locals global-packages --list).'
    }
    $Matches[1].Trim()
}

function Get-PwshInvocation {
    # The PowerShell that runs this script is the dotnet tool pinned in .config/dotnet-tools.json; child processes
    # use the same one, started the same way.
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    @($process)
}

function Test-IsRoot {
    if ($IsWindows) { return $false }
    (& id -u) -eq '0'
}

$script:AptUpdated = $false
function Install-DebianPackage {
    # Installs Debian packages for the commands that are missing; as root only, otherwise says what to install.
    param([Parameter(Mandatory)][hashtable] $CommandToPackage)
    $missing = @($CommandToPackage.GetEnumerator() | Where-Object { -not (Get-Command $_.Key -ErrorAction Ignore) })
    if ($missing.Count -eq 0) { return }
    $packages = @($missing | ForEach-Object Value | Sort-Object -Unique)
    if ($IsLinux -and (Get-Command apt-get -ErrorAction Ignore) -and (Test-IsRoot)) {
        Write-Host "Installing $($packages -join ', ') (apt-get)..." -ForegroundColor Cyan
        $env:DEBIAN_FRONTEND = 'noninteractive'
        if (-not $script:AptUpdated) {
            Invoke-Native apt-get @('update', '-qq')
            $script:AptUpdated = $true
        }
        Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $packages)
        return
    }
    $commands = ($missing | ForEach-Object Key) -join ', '
    throw "Missing $commands. Install them first, e.g. on Debian or Ubuntu: sudo apt-get install $($packages -join ' ')"
}

function Invoke-Build {
    Write-Host "Building $ModuleName ($Configuration)..." -ForegroundColor Cyan
    $publish = Join-Path $OutDir 'publish'
    if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }

    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/RegistryCleaner.PowerShell'), '-c', $Configuration,
        '-o', (Join-Path $publish 'lib'), '--nologo', '-v', 'quiet')
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/RegistryCleaner.Loader'), '-c', $Configuration,
        '-o', (Join-Path $publish 'loader'), '--nologo', '-v', 'quiet')

    $bin = Join-Path $ModuleOut 'bin'
    $lib = Join-Path $bin 'lib'
    New-Item -ItemType Directory -Path $lib -Force | Out-Null

    # Only the loader lives in the default load context; everything else goes to bin/lib, loaded privately.
    Copy-Item (Join-Path $publish 'loader/RegistryCleaner.Loader.dll') $bin
    Get-ChildItem (Join-Path $publish 'lib') | Where-Object Name -notlike '*.deps.json' |
        Copy-Item -Destination $lib -Recurse
    $forbidden = Get-ChildItem $ModuleOut -Recurse -Filter 'System.Management.Automation.dll'
    if ($forbidden) { throw "System.Management.Automation.dll must not ship with the module: $($forbidden.FullName)" }

    Copy-Item (Join-Path $Root 'RegistryCleaner.psd1') $ModuleOut
    Copy-Item (Join-Path $Root 'config.yaml') $ModuleOut
    Get-ChildItem (Join-Path $Root 'module') -File | Copy-Item -Destination $ModuleOut
    Copy-Item (Join-Path $Root 'module/en-US') $ModuleOut -Recurse

    # Cmdlet help: MAML generated from module/help/*.md and the built cmdlets' own metadata, in a child pwsh so this
    # process never loads the module it is building.
    $pwsh = @(Get-PwshInvocation)
    $helpArguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File',
        (Join-Path $Root 'tools/New-MamlHelp.ps1'), '-ModulePath', $ModuleOut, '-SourcePath', (Join-Path $Root 'module/help'),
        '-OutputPath', (Join-Path $ModuleOut 'en-US/RegistryCleaner.PowerShell.dll-Help.xml'))
    Invoke-Native $pwsh[0] $helpArguments

    Write-Host "Module written to $ModuleOut" -ForegroundColor Green
}

function Invoke-XunitTests {
    $results = Join-Path $OutDir 'test-results'
    New-Item -ItemType Directory -Path $results -Force | Out-Null
    $trx = Join-Path $results 'xunit.trx'
    if (Test-Path $trx) { Remove-Item $trx }
    # --blame names the test that was running if the test host crashes (the run is then reported as aborted).
    $arguments = @('test', (Join-Path $Root 'tests/RegistryCleaner.Tests'), '-c', $Configuration, '--nologo',
        '--logger', 'trx;LogFileName=xunit.trx', '--results-directory', $results,
        '--logger', 'console;verbosity=normal', '--blame')
    if ($TestFilter) { $arguments += @('--filter', $TestFilter) }
    & dotnet @arguments | Out-Host
    $exit = $LASTEXITCODE

    $counts = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Failures = [Collections.Generic.List[string]]::new() }
    if (Test-Path $trx) {
        [xml] $report = Get-Content -LiteralPath $trx -Raw
        $summary = $report.TestRun.ResultSummary
        $counts.Passed = [int] $summary.Counters.passed
        $counts.Failed = [int] $summary.Counters.failed + [int] $summary.Counters.error + [int] $summary.Counters.timeout
        $counts.Skipped = [int] $summary.Counters.notExecuted
        foreach ($result in @($report.TestRun.Results.UnitTestResult | Where-Object outcome -in 'Failed', 'Error', 'Timeout')) {
            $message = $result.SelectSingleNode('*[local-name()="Output"]/*[local-name()="ErrorInfo"]/*[local-name()="Message"]')
            $first = if ($message) { ($message.InnerText -split '\r?\n' | Where-Object { $_.Trim() } | Select-Object -First 3) -join ' | ' } else { '' }
            $counts.Failures.Add("$($result.testName): $first")
        }
        # A crashed or aborted test host leaves run-level messages instead of (or besides) failed results.
        if ($summary.outcome -notin 'Completed', 'Passed', 'Failed') {
            $runMessages = $summary.SelectNodes('*[local-name()="RunInfos"]/*[local-name()="RunInfo"]/*[local-name()="Text"]')
            foreach ($text in $runMessages) { $counts.Failures.Add("test run $($summary.outcome): $($text.InnerText.Trim())") }
            if ($runMessages.Count -eq 0) { $counts.Failures.Add("test run $($summary.outcome)") }
        }
    }
    if ($exit -ne 0 -and $counts.Failed -eq 0) {
        $counts.Failed = 1
        if ($counts.Failures.Count -eq 0) { $counts.Failures.Add("dotnet test exited with $exit without a failed test in $trx") }
    }
    $counts
}

function Invoke-PesterTests {
    $pester = Join-Path (Get-NuGetPackageRoot) 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $pester)) {
        Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/RegistryCleaner.Tests'), '--nologo', '-v', 'quiet')
    }
    $resultFile = Join-Path $OutDir 'test-results/pester.json'
    if (Test-Path $resultFile) { Remove-Item -LiteralPath $resultFile }
    $pwsh = @(Get-PwshInvocation)
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File',
        (Join-Path $Root 'tests/pester/Invoke-PesterTests.ps1'),
        '-PesterPath', $pester, '-ModulePath', $ModuleOut, '-ResultPath', $resultFile)
    & $pwsh[0] @arguments | Out-Host
    $exit = $LASTEXITCODE
    $counts = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Failures = @() }
    if (Test-Path $resultFile) {
        $read = Get-Content -LiteralPath $resultFile -Raw | ConvertFrom-Json
        $counts = [pscustomobject]@{ Passed = $read.Passed; Failed = $read.Failed; Skipped = $read.Skipped; Failures = @($read.Failures) }
    }
    if ($exit -ne 0 -and $counts.Failed -eq 0) {
        $counts.Failed = 1
        $counts.Failures = @("the Pester run exited with $exit without a failed test in $resultFile")
    }
    $counts
}

function Invoke-Test {
    # The graph tests build and pull real images: buildah, podman, skopeo and umoci.
    Install-DebianPackage @{ 'docker-registry' = 'docker-registry'; 'htpasswd' = 'apache2-utils'; 'openssl' = 'openssl'
        'buildah' = 'buildah'; 'podman' = 'podman'; 'skopeo' = 'skopeo'; 'umoci' = 'umoci'
        # The HTML report test renders the page in a real headless browser.
        'chromium' = 'chromium' }
    Invoke-Build
    Write-Host 'Running xunit tests...' -ForegroundColor Cyan
    $xunit = Invoke-XunitTests
    Write-Host 'Running Pester tests...' -ForegroundColor Cyan
    $pester = Invoke-PesterTests
    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed
    Write-Host ''
    Write-Host ("xunit: {0} passed, {1} failed, {2} skipped" -f $xunit.Passed, $xunit.Failed, $xunit.Skipped)
    Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $pester.Passed, $pester.Failed, $pester.Skipped)
    # The failures again, last, so that a log cut to its tail still names them.
    foreach ($failure in $xunit.Failures) { Write-Host "FAILED (xunit) $failure" -ForegroundColor Red }
    foreach ($failure in $pester.Failures) { Write-Host "FAILED (Pester) $failure" -ForegroundColor Red }
    Write-Host ("Tests: {0} passed, {1} failed" -f $passed, $failed)
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Package {
    Invoke-Build
    $packages = Join-Path $OutDir 'packages'
    New-Item -ItemType Directory -Path $packages -Force | Out-Null
    Get-ChildItem $packages -Filter "$ModuleName.*.nupkg" | Remove-Item
    # Publish-PSResource writes the .nupkg into a folder repository; register a temporary one for this process.
    $repositoryName = "RegistryCleanerBuild-$PID"
    Register-PSResourceRepository -Name $repositoryName -Uri $packages -Trusted
    try {
        Publish-PSResource -Path $ModuleOut -Repository $repositoryName
    }
    finally {
        Unregister-PSResourceRepository -Name $repositoryName
    }
    $nupkg = Get-ChildItem $packages -Filter "$ModuleName.*.nupkg" | Select-Object -First 1
    Write-Host "Package written to $($nupkg.FullName)" -ForegroundColor Green
    Write-Host "Install it with: Register-PSResourceRepository -Name Local -Uri '$packages' -Trusted; Install-PSResource RegistryCleaner -Repository Local"
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
    'Demo' {
        Install-DebianPackage @{ 'docker-registry' = 'docker-registry' }
        Invoke-Build
        & (Join-Path $Root 'demo/Invoke-Demo.ps1') -ModulePath $ModuleOut
        exit $LASTEXITCODE
    }
    'Bench' {
        Install-DebianPackage @{ 'docker-registry' = 'docker-registry'; 'wrk' = 'wrk'; 'skopeo' = 'skopeo'; 'kubectl' = 'kubectl' }
        Invoke-Build
        # `pwsh ./build.ps1 Bench -Tags 1000,10000` passes "1000,10000" as one string, which [int] would read as 100010000.
        [int[]] $sizes = @($Tags -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        if ($sizes.Count -eq 0 -or @($sizes | Where-Object { $_ -lt 10 -or $_ -gt 1000000 }).Count) {
            throw "-Tags takes sizes from 10 to 1000000, e.g. -Tags 1000,10000 (got '$($Tags -join ',')')."
        }
        & (Join-Path $Root 'bench/Invoke-Bench.ps1') -ModulePath $ModuleOut -Tags $sizes
        exit $LASTEXITCODE
    }
}
