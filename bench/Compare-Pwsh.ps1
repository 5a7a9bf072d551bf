<#
.SYNOPSIS
    Measures Get-RegistryImage (later reads) in fresh processes of two pwsh builds side by side: the pwsh that runs this
    script (labelled with whether it is precompiled: the NuGet pwsh tool is not), and pwsh built from the PowerShell SDK
    with ReadyToRun code, as PowerShell's own packages are. Each goes first in every other round.
.DESCRIPTION
    Answers one question of the performance section: does a precompiled PowerShell spend less time compiling during a
    command, and read faster? It seeds one distribution filesystem storage (the Lab's seed-storage), serves it read-only
    with docker-registry on loopback, fills an image configuration cache of its own with one read, measures bare
    manifest GETs with wrk, then runs the same later read in a fresh process of each pwsh in turn, -Rounds times. Each
    line gives the time, the rate and its ratio to the bare GETs (a read that fails or writes fewer images than -Tags
    stops the script), the CPU the process spent during the command and the
    time its threads spent in the .NET JIT. Figures are reported, never asserted. The registry it starts is stopped by
    the PID it started, and its folder is removed at the end.
.EXAMPLE
    dotnet pwsh ./build.ps1 Build; dotnet pwsh ./bench/Compare-Pwsh.ps1 -ModulePath ./out/RegistryCleaner -Tags 1000
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Tags = 1000,
    [int] $Rounds = 3
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'tools/RegistryLab.psm1') -Force
Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force
foreach ($tool in 'wrk', 'docker-registry') {
    if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { throw "$tool is not installed. Install it with: sudo apt-get install $tool" }
}
$manifest = Join-Path (Resolve-Path -LiteralPath $ModulePath).ProviderPath 'RegistryCleaner.psd1'
if (-not (Test-Path -LiteralPath $manifest)) { throw "-ModulePath '$ModulePath' holds no RegistryCleaner.psd1: build the module first (dotnet pwsh ./build.ps1 Build)." }
$work = Join-Path ([IO.Path]::GetTempPath()) "registrycleaner-compare-pwsh-$PID"
New-Item -ItemType Directory -Path $work -Force | Out-Null
$lab = $null
try {
    Write-Host 'Building the lab console and the ReadyToRun pwsh...' -ForegroundColor Cyan
    $labDll = Build-LabConsole -Root $root -Out (Join-Path $work 'lab')
    $r2r = Join-Path $work 'pwsh-r2r'
    $rid = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    & dotnet publish (Join-Path $PSScriptRoot 'ReadyToRunPwsh') -c Release -r $rid -o $r2r --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Publishing bench/ReadyToRunPwsh failed.' }
    # The SDK brings PowerShell's own modules as content under runtimes/; pwsh looks for them in $PSHOME/Modules.
    $platform = if ($IsWindows) { 'win' } else { 'unix' }
    Copy-Item -Recurse (Join-Path $r2r "runtimes/$platform/lib/net10.0/Modules") (Join-Path $r2r 'Modules')

    Write-Host "Writing $Tags tags into a filesystem storage..." -ForegroundColor Cyan
    $storage = Join-Path $work 'storage'
    $imageList = Join-Path $work 'images.txt'
    $null = & dotnet $labDll seed-storage --root $storage --tags $Tags --tag-list (Join-Path $work 'tags.txt') --image-list $imageList
    if ($LASTEXITCODE -ne 0) { throw 'Seeding the storage failed.' }
    $lab = Start-LabRegistry -StoragePath $storage -ReadOnly

    $callersCache = $env:REGISTRY_CLEANER_CACHE_DIR
    $env:REGISTRY_CLEANER_CACHE_DIR = Join-Path $work 'cache'
    $command = "Import-Module '$manifest'; `$ProgressPreference = 'SilentlyContinue'; `$p = [Diagnostics.Process]::GetCurrentProcess(); `$cpu = `$p.TotalProcessorTime; `$jit = [System.Runtime.JitInfo]::GetCompilationTime(`$false); `$n = 0; `$s = [Diagnostics.Stopwatch]::StartNew(); Get-RegistryImage -Registry '$($lab.Url)' -Repository 'dominodatalab/*' | ForEach-Object { `$n++ }; `$s.Stop(); `$p.Refresh(); '{0} {1} {2} {3}' -f `$n, `$s.Elapsed.TotalSeconds.ToString([cultureinfo]::InvariantCulture), (`$p.TotalProcessorTime - `$cpu).TotalSeconds.ToString([cultureinfo]::InvariantCulture), ([System.Runtime.JitInfo]::GetCompilationTime(`$false) - `$jit).TotalSeconds.ToString([cultureinfo]::InvariantCulture)"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
    # This pwsh as it was started (`dotnet pwsh` runs pwsh.dll under dotnet), and the other through the dotnet host.
    $self = [Environment]::ProcessPath
    $fromDotnet = [IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet'
    # Whether this pwsh is precompiled: the NuGet tool is not, PowerShell's own packages are.
    $sma = [IO.File]::OpenRead([System.Management.Automation.PSObject].Assembly.Location)
    try { $precompiled = [Reflection.PortableExecutable.PEReader]::new($sma).PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 }
    finally { $sma.Dispose() }
    $thisPwsh = if ($precompiled) { 'this pwsh (ReadyToRun)' } else { 'this pwsh (not precompiled)' }
    $hosts = [ordered]@{
        $thisPwsh                  = @($self) + @(if ($fromDotnet) { Join-Path $PSHOME 'pwsh.dll' })
        'ReadyToRun pwsh from SDK' = @($(if ($fromDotnet) { $self } else { 'dotnet' }), (Join-Path $r2r 'pwsh.dll'))
    }
    function Measure-Read([string] $Name) {
        $launch = $hosts[$Name]
        $arguments = @($launch | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $errors = Join-Path $work 'read-errors.txt'
        $lines = @(& $launch[0] @arguments 2>$errors)
        if ($LASTEXITCODE -ne 0 -or $lines.Count -eq 0 -or (Get-Item $errors).Length -gt 0) {
            throw "The read in $Name failed (exit code $LASTEXITCODE): $((@($lines) + @(Get-Content $errors)) -join "`n")"
        }
        $count, $seconds, $cpu, $jit = $lines[-1] -split ' ' | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
        if ($count -ne $Tags) { throw "The read in $Name wrote $count images of $Tags tags." }
        [pscustomobject]@{ Count = $count; Seconds = $seconds; CpuSeconds = $cpu; JitSeconds = $jit }
    }

    Write-Host 'Filling the image configuration cache with one read...' -ForegroundColor Cyan
    $null = Measure-Read $thisPwsh
    Write-Host 'Measuring bare manifest GETs with wrk...' -ForegroundColor Cyan
    $bare = Invoke-Wrk -Url $lab.Url -Line @(Get-WrkLine @(Read-SeededImage $imageList)) -Work $work -Name 'manifests'
    if ($bare.Non2xx -gt 0) { throw "wrk's bare GETs had $($bare.Non2xx) answers that were not 2xx or 3xx." }
    $raw = $bare.RequestsPerSecond
    "bare manifest GETs (wrk, 16 connections): $raw/s"
    for ($round = 1; $round -le $Rounds; $round++) {
        # Each goes first in every other round, so neither always follows the same thing.
        $order = @($hosts.Keys)
        if ($round % 2 -eq 0) { [array]::Reverse($order) }
        foreach ($name in $order) {
            $m = Measure-Read $name
            $tagsPerSecond = $m.Count / $m.Seconds
            '{0,-28} round {1}: {2} tags in {3:F2} s, {4:F0} tags/s, {5:F2}x bare GETs; {6:F2} s CPU, {7:F2} s in the JIT' -f $name, $round, $m.Count, $m.Seconds, $tagsPerSecond, ($tagsPerSecond / $raw), $m.CpuSeconds, $m.JitSeconds
        }
    }
}
finally {
    if (Test-Path variable:callersCache) { $env:REGISTRY_CLEANER_CACHE_DIR = $callersCache }
    if ($lab) { Stop-LabRegistry $lab }
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
