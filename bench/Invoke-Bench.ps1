#Requires -Version 7.4
<#
.SYNOPSIS
    Measures RegistryCleaner's speed and memory side by side with the alternatives, in one run on one machine.

.DESCRIPTION
    Started by `build.ps1 Bench`. For each size in -Tags (default 1,000 and 10,000), writes Domino-like tags straight
    into a distribution filesystem storage once (the Lab's seed-storage: seconds, where pushing 100,000 tags over HTTP
    takes hours). The contenders that only read share that storage itself, served by a registry in read-only mode;
    every contender that deletes gets its own identical copy served by its own registry process (blobs hard-linked with
    `cp -al`, since the registry never rewrites a blob in place; each repository's `_manifests` and `_layers` copied
    for real with `cp -a`, since the registry rewrites and removes those link files). It measures:
      - reads, on the seeded storage: the registry's raw manifest-GET capacity (wrk, 16 connections, every tag in turn); wrk
        replaying exactly the requests a first read needs (each tag's manifest GET with the client's Accept header and
        its configuration blob GET); one `skopeo inspect` process per tag, 4 at a time, on a sample (the Python tool's
        approach); Get-RegistryImage with an empty image configuration cache (first read), then Get-RegistryImage,
        Get-RegistryLayer and Get-UnusedImage with the cache that run filled (every later read), each in a fresh pwsh
        with its peak working set, the CPU it spent and the time its threads spent in the .NET JIT compiling code; up to
        -MaxAgainTags tags (default 10,000), each read also runs a second time in the same pwsh, as in an admin's
        session (the first read again with an empty cache of its own);
      - the same first and later Get-RegistryImage reads with the registry confined to the first CPU this process may
        use and wrk and each fresh pwsh to the others (taskset), up to -MaxSeparateCoreTags tags (default 10,000), as
        when the registry runs in a cluster and the admin's pwsh on another machine; wrk's raw manifest GETs and
        first-read replay are measured before those reads, which each read is compared with, and again after them;
      - deletion of every tag, each contender on its own fresh copy: the registry's bare-DELETE capacity (the Lab's
        delete-all: every manifest DELETE by digest once, 16 connections, timed from the first DELETE sent to the last
        answer); `skopeo delete` per tag, 4 at a time (the Python tool's approach, on the first -SkopeoDeleteSample
        tags, as a rate); Remove-UnusedImage -InUse @() -MongoUsage:$false -Confirm:$false over every tag, in a fresh
        pwsh with its peak working set, CPU and JIT, timed twice: its deletion phase (the journal's first attempt line to its last
        outcome line, by the journal's own timestamps: like with like with delete-all) and the whole command (after
        Import-Module: configuration, catalog, inventory read, plan and deletion), each with its ratios; skipped above
        -MaxDeletionTags tags (default 10,000), where deleting every tag grows about with the square of the repository
        on distribution (its manifest DELETE walks every tag) and would take hours, with a line saying so;
      - how time and peak memory grow from one size to the next (factor per 10x tags).
    Then, once per run: Get-WorkloadImage against `kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json` on a
    Kubernetes stand-in with 20,000 pods and 4,000 controllers (distinct image count checked independently); the planner
    alone on 100,000 synthetic tags; Get-DominoImageUsage on a MongoDB stand-in with 100,000 runs and 10,000 workspaces;
    Import-Module time.
    Writes bench/results-<date>-<hhmm>.json (named by the local time it started, so runs on one day keep their own
    files) and prints a Markdown table. Figures are reported, never asserted. Every registry and stand-in it starts is
    stopped by the PID it started.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int[]] $Tags = @(1000, 10000),
    [int] $Pods = 20000,
    [int] $Controllers = 4000,
    [int] $SkopeoSample = 200,
    [int] $SkopeoDeleteSample = 300,
    [int] $Runs = 100000,
    [int] $Workspaces = 10000,
    [int] $MaxDeletionTags = 10000,
    [int] $MaxAgainTags = 10000,
    [int] $MaxSeparateCoreTags = 10000
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'tools/RegistryLab.psm1') -Force
Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force
$work = Join-Path ([IO.Path]::GetTempPath()) "registrycleaner-bench-$PID"
New-Item -ItemType Directory -Path $work -Force | Out-Null
$manifest = Join-Path $ModulePath 'RegistryCleaner.psd1'

function Invoke-Pwsh {
    # Runs a measurement in a fresh pwsh so each figure (time, peak working set) belongs to that command alone.
    # -Cpus runs it on those CPUs only (taskset).
    param([Parameter(Mandatory)][string] $Script, [string] $Cpus)
    $process = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    if ($Cpus) { $prefix = @('-c', $Cpus, $process) + $prefix; $process = '/usr/bin/taskset' }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    # Progress records would go to stderr as CLIXML; a measurement wants only its one JSON line.
    $output = @(& $process @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>$null)
    if ($LASTEXITCODE -ne 0) { throw "Measurement failed: $($output -join "`n")" }
    $output[-1] | ConvertFrom-Json
}

function Measure-Cmdlet {
    # The command in a fresh pwsh (as a scheduled task runs it): its time, the objects it wrote, the process's peak
    # working set (import and first run; a second run is not in it), the CPU the process spent during it, and the time its threads spent in the .NET JIT compiling code
    # (System.Runtime.JitInfo: a fresh process compiles every method it runs once, and the hot ones again optimized).
    # -Again runs it a second time in the same pwsh, as an admin who runs it again in the same session does, with
    # its code compiled by then; -AgainCache gives that second run its own (empty) image configuration cache. -Cpus runs
    # the pwsh on those CPUs only.
    param([string] $Name, [string] $Command, [switch] $Again, [string] $AgainCache, [string] $Cpus)
    Write-Host "Measuring $Name..." -ForegroundColor Cyan
    $againScript = if ($Again) {
        $cache = if ($AgainCache) { "`$env:REGISTRY_CLEANER_CACHE_DIR = '$AgainCache'" } else { '' }
        @"
$cache
`$second = Measure-Run
"@
    }
    else { '$second = $null' }
    Invoke-Pwsh @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$manifest'
`$startupSeconds = ([datetime]::UtcNow - [Diagnostics.Process]::GetCurrentProcess().StartTime.ToUniversalTime()).TotalSeconds
function Measure-Run {
    `$process = [Diagnostics.Process]::GetCurrentProcess()
    `$cpu = `$process.TotalProcessorTime
    `$jit = [System.Runtime.JitInfo]::GetCompilationTime(`$false)
    `$script:count = 0
    `$started = [datetimeoffset]::UtcNow.ToUnixTimeMilliseconds()
    `$elapsed = Measure-Command { $Command | ForEach-Object { `$script:count++ } }
    `$process.Refresh()
    [pscustomobject]@{
        Seconds = `$elapsed.TotalSeconds; Count = `$script:count; StartedUnixMs = `$started
        CpuSeconds = (`$process.TotalProcessorTime - `$cpu).TotalSeconds
        JitSeconds = ([System.Runtime.JitInfo]::GetCompilationTime(`$false) - `$jit).TotalSeconds
        # The process's peak so far: the first run's own peak; after a second run, the larger of the two.
        PeakWorkingSetMB = [math]::Round(`$process.PeakWorkingSet64 / 1MB)
    }
}
`$first = Measure-Run
$againScript
[pscustomobject]@{
    Seconds = `$first.Seconds; Count = `$first.Count; StartedUnixMs = `$first.StartedUnixMs; CpuSeconds = `$first.CpuSeconds; JitSeconds = `$first.JitSeconds
    PeakWorkingSetMB = `$first.PeakWorkingSetMB; StartupSeconds = `$startupSeconds
    Again = `$second
} | ConvertTo-Json -Compress
"@ -Cpus $Cpus
}

function Remove-Tree([string] $Path) {
    # rm -rf: a storage of 100,000 tags is about 700,000 small files, where Remove-Item takes minutes.
    if (Test-Path -LiteralPath $Path) { & rm -rf -- $Path }
}

function Copy-Storage {
    # An identical storage in seconds: blob data files are hard links (the registry writes a blob once, under a new
    # name, and never rewrites it in place), everything else is a real copy (the registry rewrites tag links in place,
    # and deleting removes _manifests and _layers link files, which must not reach the template or another copy).
    param([string] $Template, [string] $Copy)
    $started = [Diagnostics.Stopwatch]::StartNew()
    $v2 = 'docker/registry/v2'
    New-Item -ItemType Directory -Path (Join-Path $Copy $v2) -Force | Out-Null
    foreach ($entry in Get-ChildItem -LiteralPath (Join-Path $Template $v2) -Force) {
        $mode = if ($entry.Name -eq 'blobs') { '-al' } else { '-a' }
        & cp $mode -- $entry.FullName (Join-Path $Copy $v2 $entry.Name)
        if ($LASTEXITCODE -ne 0) { throw "Copying $($entry.FullName) to $Copy failed." }
    }
    $script:copySeconds.Add([math]::Round($started.Elapsed.TotalSeconds, 1))
}

function Invoke-OnTemplate {
    # Serves a seeded storage itself to contenders that only read, from a registry in read-only mode (it refuses every
    # write, so the storage stays what was seeded): the reads need no copy, which at 100,000 tags takes minutes.
    param([string] $Template, [scriptblock] $Body)
    $script:lab = Start-LabRegistry -StoragePath $Template -ReadOnly
    try { & $Body $script:lab }
    finally {
        Stop-LabRegistry $script:lab
        $script:lab = $null
    }
}

function Invoke-OnCopy {
    # Gives one contender its own copy of a seeded storage and its own registry process, and removes both afterwards.
    param([string] $Template, [string] $Name, [scriptblock] $Body)
    $copy = Join-Path $work $Name
    Copy-Storage $Template $copy
    $script:lab = Start-LabRegistry -StoragePath $copy
    try { & $Body $script:lab }
    finally {
        Stop-LabRegistry $script:lab
        $script:lab = $null
        Remove-Tree $copy
    }
}

function Get-JournalSpan {
    # The deletion phase as a deletion journal records it: its first attempt line (written before the first DELETE is
    # sent) to its last outcome line (written once the last DELETE's answer and the tag check after it are in).
    param([Parameter(Mandatory)][string] $Path)
    $attempts = [Collections.Generic.List[DateTimeOffset]]::new()
    $outcomes = [Collections.Generic.List[DateTimeOffset]]::new()
    foreach ($line in [IO.File]::ReadLines($Path)) {
        if (-not $line) { continue }
        $document = [Text.Json.JsonDocument]::Parse($line)
        try {
            $kind = $document.RootElement.GetProperty('kind').GetString()
            $time = [DateTimeOffset]::Parse($document.RootElement.GetProperty('time').GetString(), [Globalization.CultureInfo]::InvariantCulture)
            if ($kind -eq 'attempt') { $attempts.Add($time) } elseif ($kind -eq 'outcome') { $outcomes.Add($time) }
        }
        finally { $document.Dispose() }
    }
    if ($attempts.Count -eq 0 -or $outcomes.Count -eq 0) { throw "The journal $Path has no attempt or no outcome line, so the deletion phase cannot be timed." }
    $attempts.Sort()
    $outcomes.Sort()
    $first = $attempts[0]
    $last = $outcomes[$outcomes.Count - 1]
    [pscustomobject]@{ First = $first; Last = $last; Seconds = ($last - $first).TotalSeconds; Attempts = $attempts.Count; Outcomes = $outcomes.Count }
}

function Format-Count([double] $n) { $n.ToString('N0', [Globalization.CultureInfo]::InvariantCulture) }

function Get-Growth {
    # How a figure grows per 10x tags between two sizes: (b / a) ^ (1 / log10(sizeB / sizeA)).
    param([double] $A, [double] $B, [int] $SizeA, [int] $SizeB)
    if ($A -le 0 -or $SizeA -eq $SizeB) { return $null }
    [math]::Round([math]::Pow($B / $A, 1 / [math]::Log10($SizeB / $SizeA)), 2)
}

$resultFile = Join-Path $PSScriptRoot ("results-{0}.json" -f (Get-Date -Format 'yyyy-MM-dd-HHmm'))
$lab = $null
$kubernetes = $null
$mongo = $null
$savedCacheDir = $env:REGISTRY_CLEANER_CACHE_DIR
$results = [ordered]@{
    date    = (Get-Date).ToString('yyyy-MM-dd HH:mm')
    machine = [ordered]@{
        os        = [Runtime.InteropServices.RuntimeInformation]::OSDescription
        cpus      = [Environment]::ProcessorCount
        memoryGB  = [math]::Round([double]((Get-Content /proc/meminfo -TotalCount 1) -replace '\D', '') / 1MB, 1)
        dotnet    = [Environment]::Version.ToString()
        powershell = $PSVersionTable.PSVersion.ToString()
        loadAverageAtStart = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
    }
    tags    = $Tags
    sizes   = [Collections.Generic.List[object]]::new()
}
try {
    Write-Host 'Building the lab console...' -ForegroundColor Cyan
    $labDll = Build-LabConsole -Root $root -Out (Join-Path $work 'lab')

    # Usage from the Kubernetes stand-in: the same cluster read by Get-WorkloadImage and by kubectl. Its snapshot is
    # also the usage Get-UnusedImage plans against at every size.
    Write-Host "Starting the Kubernetes stand-in with $Pods pods and $Controllers controllers..." -ForegroundColor Cyan
    $kubeconfig = Join-Path $work 'kubeconfig'
    $snapshot = Join-Path $work 'cluster.json'
    $start = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($labDll, 'kubernetes', '--pods', $Pods, '--controllers', $Controllers, '--kubeconfig', $kubeconfig, '--snapshot', $snapshot)) { $start.ArgumentList.Add("$a") }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $kubernetes = [Diagnostics.Process]::Start($start)
    $null = $kubernetes.StandardOutput.ReadLine() | ConvertFrom-Json

    Write-Host 'Measuring kubectl get ... -A -o json...' -ForegroundColor Cyan
    $kubectlJson = Join-Path $work 'kubectl.json'
    $kubectl = Measure-Command {
        & kubectl --kubeconfig $kubeconfig get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json --request-timeout=300s > $kubectlJson
    }
    if ($LASTEXITCODE -ne 0) { throw 'kubectl failed against the stand-in.' }

    # The exact number of distinct images, counted independently from kubectl's JSON.
    $expected = [Collections.Generic.HashSet[string]]::new()
    foreach ($item in (Get-Content $kubectlJson -Raw | ConvertFrom-Json -Depth 64).items) {
        $spec = switch ($item.kind) {
            'Pod' { if ($item.status.phase -notin 'Succeeded', 'Failed') { $item.spec } }
            'CronJob' { $item.spec.jobTemplate.spec.template.spec }
            default { $item.spec.template.spec }
        }
        if (-not $spec) { continue }
        foreach ($list in 'containers', 'initContainers', 'ephemeralContainers') {
            if ($spec.PSObject.Properties[$list]) { foreach ($c in $spec.$list) { $null = $expected.Add($c.image) } }
        }
    }
    $usage = Measure-Cmdlet 'Get-WorkloadImage' "Get-WorkloadImage -KubeConfig '$kubeconfig'"
    $results.usage = [ordered]@{
        pods = $Pods; controllers = $Controllers
        kubectlSeconds = [math]::Round($kubectl.TotalSeconds, 2)
        getWorkloadImageSeconds = [math]::Round($usage.Seconds, 2)
        ratioToKubectl = [math]::Round($usage.Seconds / $kubectl.TotalSeconds, 2)
        images = $usage.Count; expectedImages = $expected.Count
        peakWorkingSetMB = $usage.PeakWorkingSetMB
    }
    $kubernetes.StandardInput.Close()
    if (-not $kubernetes.WaitForExit(10000)) { $kubernetes.Kill() }
    $kubernetes = $null

    foreach ($size in $Tags) {
        Write-Host "== $size tags ==" -ForegroundColor Cyan
        $template = Join-Path $work "storage-$size"
        $tagList = Join-Path $work "tags-$size.txt"
        $imageList = Join-Path $work "images-$size.txt"
        Write-Host "Writing $size tags into a filesystem storage..." -ForegroundColor Cyan
        $seed = & dotnet $labDll seed-storage --root $template --tags $size --tag-list $tagList --image-list $imageList | ConvertFrom-Json
        if ($LASTEXITCODE -ne 0) { throw 'Seeding the storage failed.' }
        $images = @(Read-SeededImage $imageList)
        $manifestLines = @(Get-WrkLine $images)
        $replayLines = @(Get-WrkLine $images -Config)
        $row = [ordered]@{ tags = $size; seed = $seed }
        $script:copySeconds = [Collections.Generic.List[double]]::new()

        $registryArgs = "-Repository 'dominodatalab/*'"
        # The read measurements share one image configuration cache of their own per size, empty before the first;
        # Remove-UnusedImage later uses the cache they filled, as a scheduled run would.
        $env:REGISTRY_CLEANER_CACHE_DIR = Join-Path $work "cache-$size"

        Invoke-OnTemplate $template {
            param($lab)
            Write-Host 'Measuring raw manifest GETs with wrk...' -ForegroundColor Cyan
            $raw = Invoke-Wrk -Url $lab.Url -Line $manifestLines -Work $work -Name "manifests-$size"
            Write-Host 'Measuring a first read replayed by wrk (manifest + configuration per tag)...' -ForegroundColor Cyan
            $replay = Invoke-Wrk -Url $lab.Url -Line $replayLines -Work $work -Name "first-read-$size"
            $row.rawManifestGetsPerSecond = [math]::Round($raw.RequestsPerSecond)
            $row.firstReadReplay = [ordered]@{
                requestsPerSecond = [math]::Round($replay.RequestsPerSecond); tagsPerSecond = [math]::Round($replay.RequestsPerSecond / 2)
                non2xx = $replay.Non2xx
            }
            $row.rawManifestNon2xx = $raw.Non2xx

            # The Python tool's approach: one skopeo inspect process per tag, 4 at a time.
            $sample = @($images | Select-Object -First $SkopeoSample | ForEach-Object { "$($_.Repository):$($_.Tag)" })
            Write-Host "Measuring skopeo inspect per tag on $($sample.Count) tags..." -ForegroundColor Cyan
            $hostPort = $lab.Registry
            $skopeo = Measure-Command {
                $sample | ForEach-Object -ThrottleLimit 4 -Parallel {
                    & skopeo inspect --tls-verify=false "docker://$using:hostPort/$_" | Out-Null
                }
            }
            $row.skopeoInspectTagsPerSecond = [math]::Round($sample.Count / $skopeo.TotalSeconds, 1)

            $args_ = "-Registry '$($lab.Url)' $registryArgs"
            # Up to -MaxAgainTags, each read runs a second time in the same session too (the first read with a new,
            # empty cache of its own, so it is a first read again).
            $again = @{ Again = $size -le $MaxAgainTags }
            $cold = Measure-Cmdlet "Get-RegistryImage (empty cache), $size tags" "Get-RegistryImage $args_" @again -AgainCache (Join-Path $work "cache-$size-again")
            $image = Measure-Cmdlet "Get-RegistryImage, $size tags" "Get-RegistryImage $args_" @again
            $layer = Measure-Cmdlet "Get-RegistryLayer, $size tags" "Get-RegistryLayer $args_" @again
            # Kubernetes usage from a snapshot only: Domino's records are measured on their own below.
            $unused = Measure-Cmdlet "Get-UnusedImage, $size tags" "Get-UnusedImage $args_ -MongoUsage:`$false -InUse (Get-WorkloadImage -Path '$snapshot')" @again
            $row.inventory = [ordered]@{}
            foreach ($entry in @(
                    @('Get-RegistryImage (empty cache)', $cold, ($replay.RequestsPerSecond / 2), 'firstReadReplay'),
                    @('Get-RegistryImage', $image, $raw.RequestsPerSecond, 'rawManifestGets'),
                    @('Get-RegistryLayer', $layer, $raw.RequestsPerSecond, 'rawManifestGets'),
                    @('Get-UnusedImage', $unused, $raw.RequestsPerSecond, 'rawManifestGets'))) {
                $perSecond = $size / $entry[1].Seconds
                $row.inventory[$entry[0]] = [ordered]@{
                    seconds = [math]::Round($entry[1].Seconds, 2); objects = $entry[1].Count
                    tagsPerSecond = [math]::Round($perSecond); comparedTo = $entry[3]; ratio = [math]::Round($perSecond / $entry[2], 2)
                    ratioToSkopeo = [math]::Round($perSecond / $row.skopeoInspectTagsPerSecond, 1)
                    peakWorkingSetMB = $entry[1].PeakWorkingSetMB
                    cpuSeconds = [math]::Round($entry[1].CpuSeconds, 2); jitSeconds = [math]::Round($entry[1].JitSeconds, 2)
                }
                if ($entry[1].Again) {
                    $second = $entry[1].Again
                    $againPerSecond = $size / $second.Seconds
                    $row.inventory[$entry[0]].sameSessionAgain = [ordered]@{
                        seconds = [math]::Round($second.Seconds, 2); objects = $second.Count; tagsPerSecond = [math]::Round($againPerSecond)
                        ratio = [math]::Round($againPerSecond / $entry[2], 2)
                        cpuSeconds = [math]::Round($second.CpuSeconds, 2); jitSeconds = [math]::Round($second.JitSeconds, 2)
                    }
                }
            }
        }

        # The same first and later read with the registry on a core of its own and every client (wrk, the pwsh) on the
        # others, as when the registry runs in a cluster and the admin's pwsh elsewhere: above, all of them share the
        # cores, and the registry, which is CPU-bound here, runs slower by whatever CPU its client spends (wrk spends
        # little; a fresh pwsh also compiles its code). Each read is compared with wrk's baseline measured before it, as
        # the shared rows are; wrk measures the baseline again after the reads, to show how far it moved meanwhile.
        $cpus = @(Get-AllowedCpu)
        if ($size -gt $MaxSeparateCoreTags) {
            $row.separateCores = [ordered]@{ skipped = "above $(Format-Count $MaxSeparateCoreTags) tags, -MaxSeparateCoreTags" }
        }
        elseif ($cpus.Count -lt 2 -or -not (Test-Path '/usr/bin/taskset')) {
            $row.separateCores = [ordered]@{ skipped = 'needs at least 2 CPUs and taskset' }
        }
        else {
            $registryCpus = "$($cpus[0])"
            $clientCpus = ($cpus | Select-Object -Skip 1) -join ','
            $separate = Start-LabRegistry -StoragePath $template -ReadOnly -Cpus $registryCpus
            $script:lab = $separate
            try {
                Write-Host "Measuring the reads with the registry on CPU $registryCpus and its clients on CPU $clientCpus..." -ForegroundColor Cyan
                $rawBefore = Invoke-Wrk -Url $separate.Url -Line $manifestLines -Work $work -Name "separate-manifests-$size" -Cpus $clientCpus
                $replayBefore = Invoke-Wrk -Url $separate.Url -Line $replayLines -Work $work -Name "separate-first-read-$size" -Cpus $clientCpus
                $env:REGISTRY_CLEANER_CACHE_DIR = Join-Path $work "cache-$size-separate"
                $separateArgs = "-Registry '$($separate.Url)' $registryArgs"
                $separateCold = Measure-Cmdlet "Get-RegistryImage (empty cache), $size tags, registry on its own core" "Get-RegistryImage $separateArgs" -Cpus $clientCpus
                $separateImage = Measure-Cmdlet "Get-RegistryImage, $size tags, registry on its own core" "Get-RegistryImage $separateArgs" -Cpus $clientCpus
                $rawAfter = Invoke-Wrk -Url $separate.Url -Line $manifestLines -Work $work -Name "separate-manifests-after-$size" -Cpus $clientCpus
                $replayAfter = Invoke-Wrk -Url $separate.Url -Line $replayLines -Work $work -Name "separate-first-read-after-$size" -Cpus $clientCpus
                $env:REGISTRY_CLEANER_CACHE_DIR = Join-Path $work "cache-$size"
                # The replay makes two requests per tag.
                $replayBeforeTags = $replayBefore.RequestsPerSecond / 2
                $replayAfterTags = $replayAfter.RequestsPerSecond / 2
                $row.separateCores = [ordered]@{
                    registryCpus = $registryCpus; clientCpus = $clientCpus
                    rawManifestGetsPerSecond = [ordered]@{ before = [math]::Round($rawBefore.RequestsPerSecond); after = [math]::Round($rawAfter.RequestsPerSecond); non2xx = $rawBefore.Non2xx + $rawAfter.Non2xx }
                    firstReadReplayTagsPerSecond = [ordered]@{ before = [math]::Round($replayBeforeTags); after = [math]::Round($replayAfterTags); non2xx = $replayBefore.Non2xx + $replayAfter.Non2xx }
                }
                foreach ($entry in @(
                        @('Get-RegistryImage (empty cache)', $separateCold, $replayBeforeTags, $replayAfterTags, 'firstReadReplay'),
                        @('Get-RegistryImage', $separateImage, $rawBefore.RequestsPerSecond, $rawAfter.RequestsPerSecond, 'rawManifestGets'))) {
                    $perSecond = $size / $entry[1].Seconds
                    $row.separateCores[$entry[0]] = [ordered]@{
                        seconds = [math]::Round($entry[1].Seconds, 2); objects = $entry[1].Count
                        tagsPerSecond = [math]::Round($perSecond); comparedTo = "$($entry[4]) (before the reads)"; ratio = [math]::Round($perSecond / $entry[2], 2)
                        ratioToMeanOfBeforeAndAfter = [math]::Round($perSecond / (($entry[2] + $entry[3]) / 2), 2)
                        peakWorkingSetMB = $entry[1].PeakWorkingSetMB
                        cpuSeconds = [math]::Round($entry[1].CpuSeconds, 2); jitSeconds = [math]::Round($entry[1].JitSeconds, 2)
                    }
                }
            }
            finally {
                Stop-LabRegistry $separate
                $script:lab = $null
            }
        }

        # Deletion of every tag, each contender on its own identical copy of the same storage.
        $row.deletion = [ordered]@{}
        if ($size -gt $MaxDeletionTags) {
            $row.deletion.skipped = "deletion rows are not measured above $(Format-Count $MaxDeletionTags) tags: on distribution deleting every tag grows about with the square of the repository (each manifest DELETE walks every tag), so at $(Format-Count $size) tags it would take hours"
            Write-Host "Skipping the deletion rows at $(Format-Count $size) tags: $($row.deletion.skipped)." -ForegroundColor Yellow
        }
        else {
            Invoke-OnCopy $template "bare-delete-$size" {
                param($lab)
                Write-Host "Measuring bare DELETEs of $size manifests (16 connections)..." -ForegroundColor Cyan
                $list = Join-Path $work "deletes-$size.txt"
                Set-Content $list ($images | ForEach-Object { "/v2/$($_.Repository)/manifests/$($_.Digest)" })
                $bare = & dotnet $labDll delete-all --url $lab.Url --list $list --concurrency 16 | ConvertFrom-Json
                if ($LASTEXITCODE -ne 0) { throw 'delete-all failed.' }
                $row.deletion.bare = [ordered]@{ deleted = $bare.accepted; failed = $bare.other; seconds = $bare.seconds; tagsPerSecond = $bare.perSecond }
            }
            Invoke-OnCopy $template "skopeo-delete-$size" {
                param($lab)
                $sample = @($images | Select-Object -First $SkopeoDeleteSample | ForEach-Object { "$($_.Repository):$($_.Tag)" })
                Write-Host "Measuring skopeo delete per tag on $($sample.Count) of $size tags (4 at a time)..." -ForegroundColor Cyan
                $hostPort = $lab.Registry
                $codes = $null
                $elapsed = Measure-Command {
                    $codes = @($sample | ForEach-Object -ThrottleLimit 4 -Parallel {
                            & skopeo delete --tls-verify=false "docker://$using:hostPort/$_" 2>$null
                            $LASTEXITCODE
                        })
                }
                $ok = @($codes | Where-Object { $_ -eq 0 }).Count
                $row.deletion.skopeo = [ordered]@{
                    sample = $sample.Count; deleted = $ok; failed = $sample.Count - $ok; seconds = [math]::Round($elapsed.TotalSeconds, 2)
                    tagsPerSecond = [math]::Round($ok / $elapsed.TotalSeconds, 1)
                }
            }
            Invoke-OnCopy $template "remove-$size" {
                param($lab)
                $journal = Join-Path $work "journal-$size.jsonl"
                $remove = Measure-Cmdlet "Remove-UnusedImage over $size tags" "Remove-UnusedImage -Registry '$($lab.Url)' $registryArgs -InUse @() -MongoUsage:`$false -Confirm:`$false -ThrottleLimit 16 -JournalPath '$journal' -ErrorAction Continue | Where-Object Status -EQ 'Deleted'"
                $perSecond = $remove.Count / $remove.Seconds
                # The deletion phase, like delete-all's own seconds: from the journal's first attempt line (written
                # before the first DELETE is sent) to its last outcome line (written after the last answer and the
                # tag check after it), by the journal's own timestamps.
                $phase = Get-JournalSpan $journal
                $phasePerSecond = if ($phase.Seconds -gt 0) { $remove.Count / $phase.Seconds } else { 0 }
                $row.deletion.registryCleaner = [ordered]@{
                    deleted = $remove.Count
                    # The whole command in a fresh pwsh after Import-Module: configuration, catalog, inventory read,
                    # plan and deletion.
                    seconds = [math]::Round($remove.Seconds, 2); tagsPerSecond = [math]::Round($perSecond, 1)
                    ratioToBare = [math]::Round($perSecond / $row.deletion.bare.tagsPerSecond, 2)
                    ratioToSkopeo = [math]::Round($perSecond / $row.deletion.skopeo.tagsPerSecond, 2)
                    # Before the command: the fresh pwsh's start and Import-Module, not in any of its figures.
                    startupSeconds = [math]::Round($remove.StartupSeconds, 2)
                    # Within the command, before the first attempt line: configuration, catalog, inventory, plan.
                    beforeFirstDeleteSeconds = [math]::Round(($phase.First - [DateTimeOffset]::FromUnixTimeMilliseconds([long]$remove.StartedUnixMs)).TotalSeconds, 2)
                    deletionPhase = [ordered]@{
                        attempts = $phase.Attempts; outcomes = $phase.Outcomes
                        seconds = [math]::Round($phase.Seconds, 2); tagsPerSecond = [math]::Round($phasePerSecond, 1)
                        ratioToBare = [math]::Round($phasePerSecond / $row.deletion.bare.tagsPerSecond, 2)
                        ratioToSkopeo = [math]::Round($phasePerSecond / $row.deletion.skopeo.tagsPerSecond, 2)
                    }
                    peakWorkingSetMB = $remove.PeakWorkingSetMB
                    # The whole command's CPU in the pwsh process, and the time its threads spent in the .NET JIT.
                    cpuSeconds = [math]::Round($remove.CpuSeconds, 2); jitSeconds = [math]::Round($remove.JitSeconds, 2)
                }
            }
        }
        $row.copySeconds = @($script:copySeconds)
        $results.sizes.Add($row)
        # Written after every size, so a run stopped part way still leaves the sizes it finished.
        $results.complete = $false
        $results | ConvertTo-Json -Depth 8 | Set-Content $resultFile
        Remove-Tree $template
        Write-Host ($row | ConvertTo-Json -Depth 6)
    }

    # How time and peak memory grow per 10x tags, from each size to the next (deletion only where both sizes have it).
    $results.growthPer10xTags = [Collections.Generic.List[object]]::new()
    for ($i = 1; $i -lt $results.sizes.Count; $i++) {
        $a = $results.sizes[$i - 1]; $b = $results.sizes[$i]
        $step = [ordered]@{ from = $a.tags; to = $b.tags }
        foreach ($name in 'Get-RegistryImage (empty cache)', 'Get-RegistryImage', 'Get-RegistryLayer', 'Get-UnusedImage') {
            $step[$name] = [ordered]@{
                time = Get-Growth $a.inventory[$name].seconds $b.inventory[$name].seconds $a.tags $b.tags
                peakMemory = Get-Growth $a.inventory[$name].peakWorkingSetMB $b.inventory[$name].peakWorkingSetMB $a.tags $b.tags
            }
        }
        if ($a.deletion.Contains('registryCleaner') -and $b.deletion.Contains('registryCleaner')) {
            $step['Remove-UnusedImage'] = [ordered]@{
                time = Get-Growth $a.deletion.registryCleaner.seconds $b.deletion.registryCleaner.seconds $a.tags $b.tags
                peakMemory = Get-Growth $a.deletion.registryCleaner.peakWorkingSetMB $b.deletion.registryCleaner.peakWorkingSetMB $a.tags $b.tags
            }
            $step['Remove-UnusedImage deletion phase time'] = Get-Growth $a.deletion.registryCleaner.deletionPhase.seconds $b.deletion.registryCleaner.deletionPhase.seconds $a.tags $b.tags
            $step['bare DELETE time'] = Get-Growth $a.deletion.bare.seconds $b.deletion.bare.seconds $a.tags $b.tags
        }
        $results.growthPer10xTags.Add($step)
    }

    Write-Host 'Measuring the planner alone on 100,000 synthetic tags...' -ForegroundColor Cyan
    $results.planner = & dotnet $labDll plan --tags 100000 | ConvertFrom-Json

    # Domino's records: a separate measurement, one query per collection over the MongoDB wire protocol.
    Write-Host "Starting the MongoDB stand-in with $Runs runs and $Workspaces workspaces..." -ForegroundColor Cyan
    $start = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($labDll, 'mongo-bench', '--runs', $Runs, '--workspaces', $Workspaces)) { $start.ArgumentList.Add("$a") }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $mongo = [Diagnostics.Process]::Start($start)
    $mongoInfo = $mongo.StandardOutput.ReadLine() | ConvertFrom-Json
    $records = Measure-Cmdlet "Get-DominoImageUsage ($Runs runs, $Workspaces workspaces)" "Get-DominoImageUsage -MongoUri '$($mongoInfo.uri)' -Database '$($mongoInfo.database)'"
    $results.dominoRecords = [ordered]@{
        runs = $Runs; workspaces = $Workspaces
        documents = ($mongoInfo.documents.PSObject.Properties | Measure-Object Value -Sum).Sum
        seconds = [math]::Round($records.Seconds, 2); references = $records.Count
        peakWorkingSetMB = $records.PeakWorkingSetMB
    }

    Write-Host 'Measuring Import-Module...' -ForegroundColor Cyan
    $imports = 1..5 | ForEach-Object {
        (Invoke-Pwsh "[pscustomobject]@{ Ms = (Measure-Command { Import-Module '$manifest' }).TotalMilliseconds } | ConvertTo-Json -Compress").Ms
    }
    $results.importMilliseconds = [math]::Round((@($imports) | Sort-Object)[2])
    $results.machine.loadAverageAtEnd = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
}
finally {
    if ($kubernetes) { $kubernetes.StandardInput.Close(); if (-not $kubernetes.WaitForExit(10000)) { $kubernetes.Kill() } }
    if ($mongo) { $mongo.StandardInput.Close(); if (-not $mongo.WaitForExit(10000)) { $mongo.Kill() } }
    if ($lab) { Stop-LabRegistry $lab }
    $env:REGISTRY_CLEANER_CACHE_DIR = $savedCacheDir
    Remove-Tree $work
}

$results.complete = $true
$results | ConvertTo-Json -Depth 8 | Set-Content $resultFile

$s = $results.sizes
$sizeHeader = ($s | ForEach-Object { "$(Format-Count $_.tags) tags" }) -join ' | '
$growthHeader = if ($s.Count -gt 1) { ' growth per 10x tags |' } else { '' }
function Format-Row([string] $Name, [scriptblock] $Cell, [string] $Growth, [switch] $Deletion) {
    # A size above -MaxDeletionTags has no deletion rows.
    $cells = ($s | ForEach-Object {
            if ($Deletion -and $_.deletion.Contains('skipped')) { "not measured (above $(Format-Count $MaxDeletionTags) tags)" }
            else { $_ | ForEach-Object -Process $Cell }
        }) -join ' | '
    $g = if ($s.Count -gt 1) { " $Growth |" } else { '' }
    "| $Name | $cells |$g"
}
function Format-Steps([scriptblock] $Figure) {
    # One "from to to: figure" per pair of consecutive sizes that has it.
    @($results.growthPer10xTags | ForEach-Object {
            $text = & $Figure $_
            if ($text) { "$(Format-Count $_.from) to $(Format-Count $_.to): $text" }
        }) -join '; '
}
function Format-Cpu($Figure, [string] $ComparedTo) {
    # The CPU the fresh pwsh spent and the time its threads spent in the JIT (which under contention also counts a
    # compiling thread's waits, so it can exceed the CPU), then the same command again in that session, where measured.
    $text = "; $($Figure.cpuSeconds) s CPU, $($Figure.jitSeconds) s in the JIT"
    if ($Figure.Contains('sameSessionAgain')) {
        $a = $Figure.sameSessionAgain
        $text += "; again in the same session $($a.seconds) s, $($a.tagsPerSecond) tags/s, $($a.ratio)x $ComparedTo, $($a.cpuSeconds) s CPU, $($a.jitSeconds) s in the JIT"
    }
    $text
}
function Format-Separate($Size, [scriptblock] $Cell) {
    # The reads with the registry on a core of its own, or why a size has none.
    if ($Size.separateCores.Contains('skipped')) { "not measured ($($Size.separateCores.skipped))" } else { & $Cell $Size.separateCores }
}
function Format-Growth([string] $Name) {
    Format-Steps { param($step) if ($step.Contains($Name)) { "time x$($step[$Name].time), peak x$($step[$Name].peakMemory)" } }
}
$table = @(
    "| measurement | $sizeHeader |$growthHeader"
    "|---|$(($s | ForEach-Object { '---' }) -join '|')|$(if ($s.Count -gt 1) { '---|' })"
    Format-Row 'raw manifest GETs (wrk, 16 connections)' { "$($_.rawManifestGetsPerSecond)/s" } ''
    Format-Row 'first read replayed by wrk (manifest + configuration GET per tag, 16 connections)' { "$($_.firstReadReplay.tagsPerSecond) tags/s" } ''
    Format-Row "skopeo inspect per tag, 4 at a time (Python tool's approach)" { "$($_.skopeoInspectTagsPerSecond) tags/s" } ''
    Format-Row 'Get-RegistryImage, first read (empty cache)' { $i = $_.inventory['Get-RegistryImage (empty cache)']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x wrk replay, $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'wrk replay')" } (Format-Growth 'Get-RegistryImage (empty cache)')
    Format-Row 'Get-RegistryImage, later reads' { $i = $_.inventory['Get-RegistryImage']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x raw manifest GETs, $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'raw GETs')" } (Format-Growth 'Get-RegistryImage')
    Format-Row 'registry on a core of its own, clients on the others: raw manifest GETs (wrk, before and after the reads)' { Format-Separate $_ { param($c) "$($c.rawManifestGetsPerSecond.before)/s and $($c.rawManifestGetsPerSecond.after)/s (registry alone confined to CPU $($c.registryCpus), clients to CPU $($c.clientCpus))" } } ''
    Format-Row 'registry on a core of its own: first read replayed by wrk (before and after the reads)' { Format-Separate $_ { param($c) "$($c.firstReadReplayTagsPerSecond.before) and $($c.firstReadReplayTagsPerSecond.after) tags/s" } } ''
    Format-Row 'registry on a core of its own: Get-RegistryImage, first read (empty cache)' { Format-Separate $_ { param($c) $i = $c['Get-RegistryImage (empty cache)']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x wrk replay before the reads ($($i.ratioToMeanOfBeforeAndAfter)x the mean of before and after), $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'wrk replay')" } } ''
    Format-Row 'registry on a core of its own: Get-RegistryImage, later reads' { Format-Separate $_ { param($c) $i = $c['Get-RegistryImage']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x raw manifest GETs before the reads ($($i.ratioToMeanOfBeforeAndAfter)x the mean of before and after), $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'raw GETs')" } } ''
    Format-Row 'Get-RegistryLayer' { $i = $_.inventory['Get-RegistryLayer']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x raw manifest GETs, $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'raw GETs')" } (Format-Growth 'Get-RegistryLayer')
    Format-Row "Get-UnusedImage (usage from a snapshot of $($Pods + $Controllers) objects)" { $i = $_.inventory['Get-UnusedImage']; "$($i.seconds) s, $($i.tagsPerSecond) tags/s, $($i.ratio)x raw manifest GETs, $($i.peakWorkingSetMB) MB peak$(Format-Cpu $i 'raw GETs')" } (Format-Growth 'Get-UnusedImage')
    Format-Row 'delete every tag: bare manifest DELETEs (16 connections)' { "$($_.deletion.bare.tagsPerSecond) tags/s ($($_.deletion.bare.seconds) s)" } (Format-Steps { param($step) if ($step.Contains('bare DELETE time')) { "time x$($step['bare DELETE time'])" } }) -Deletion
    Format-Row "delete: skopeo delete per tag, 4 at a time (Python tool's approach, first tags only)" { "$($_.deletion.skopeo.tagsPerSecond) tags/s (on $($_.deletion.skopeo.sample) tags)" } '' -Deletion
    Format-Row 'delete every tag: Remove-UnusedImage -ThrottleLimit 16 (deletion phase from its journal; whole command)' { $d = $_.deletion.registryCleaner; $p = $d.deletionPhase; "deletion phase $($p.tagsPerSecond) tags/s ($($p.seconds) s), $($p.ratioToBare)x bare, $($p.ratioToSkopeo)x skopeo; whole command $($d.tagsPerSecond) tags/s ($($d.seconds) s, $($d.beforeFirstDeleteSeconds) s of it before the first DELETE), $($d.ratioToBare)x bare, $($d.ratioToSkopeo)x skopeo; $($d.peakWorkingSetMB) MB peak; $($d.cpuSeconds) s CPU, $($d.jitSeconds) s in the JIT" } (Format-Steps { param($step) if ($step.Contains('Remove-UnusedImage')) { "deletion phase time x$($step['Remove-UnusedImage deletion phase time']), whole command time x$($step['Remove-UnusedImage'].time), peak x$($step['Remove-UnusedImage'].peakMemory)" } }) -Deletion
)
$once = @(
    "| Get-WorkloadImage, $Pods pods + $Controllers controllers | $($results.usage.getWorkloadImageSeconds) s vs kubectl $($results.usage.kubectlSeconds) s ($($results.usage.ratioToKubectl)x), $($results.usage.images) images (expected $($results.usage.expectedImages)) |"
    "| planner, $($results.planner.tags) tags, $($results.planner.layerReferences) layer refs | $($results.planner.warmSeconds) s warm ($($results.planner.coldSeconds) s cold), $($results.planner.allocatedMegabytes) MB allocated |"
    "| Domino's records (Get-DominoImageUsage), $($results.dominoRecords.runs) runs + $($results.dominoRecords.workspaces) workspaces, $($results.dominoRecords.documents) documents | $($results.dominoRecords.seconds) s, $($results.dominoRecords.references) references, $($results.dominoRecords.peakWorkingSetMB) MB peak |"
    "| Import-Module (median of 5) | $($results.importMilliseconds) ms |"
)
Write-Host ''
Write-Host "Machine: $($results.machine.os), $($results.machine.cpus) cores, $($results.machine.memoryGB) GB, .NET $($results.machine.dotnet), PowerShell $($results.machine.powershell), load average $($results.machine.loadAverageAtStart -join ' ') at start"
$table | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host '| measurement (once per run) | result |'
Write-Host '|---|---|'
$once | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host "Results written to $resultFile" -ForegroundColor Green
