#Requires -Version 7.4
<#
.SYNOPSIS
    Measures RegistryCleaner's speed and memory side by side with the alternatives, in one run on one machine.

.DESCRIPTION
    Started by `build.ps1 Bench`. Seeds a local registry with Domino-like tags, then measures:
      - the registry's raw manifest-GET capacity (wrk, 16 connections, every tag in turn);
      - the Python tool's approach: one `skopeo inspect` process per tag, 4 at a time, on a sample;
      - Get-RegistryImage with an empty image configuration cache (a first run: manifest + configuration per tag),
        then Get-RegistryImage, Get-RegistryLayer and Get-UnusedImage with the cache that run filled (every later
        run: one manifest GET per tag), end to end (tags/s, ratio to raw, peak working set);
      - Get-WorkloadImage against `kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json` on a Kubernetes
        stand-in with 20,000 pods and 4,000 controllers, with the distinct image count checked independently;
      - the planner alone on 100,000 synthetic tags (about 1,000,000 layer references);
      - Domino's records, on their own: Get-DominoImageUsage reading a MongoDB stand-in holding 100,000 runs and
        10,000 workspaces (with their sessions, environments, revisions, projects, users and models);
      - Import-Module time.
    Writes bench/results-<date>.json and prints a Markdown table. Figures are reported, never asserted.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Tags = 2000,
    [int] $Pods = 20000,
    [int] $Controllers = 4000,
    [int] $SkopeoSample = 200,
    [int] $Runs = 100000,
    [int] $Workspaces = 10000
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'tools/RegistryLab.psm1') -Force
$work = Join-Path ([IO.Path]::GetTempPath()) "registrycleaner-bench-$PID"
New-Item -ItemType Directory -Path $work -Force | Out-Null
$manifest = Join-Path $ModulePath 'RegistryCleaner.psd1'

function Invoke-Pwsh {
    # Runs a measurement in a fresh pwsh so each figure (time, peak working set) belongs to that command alone.
    param([Parameter(Mandatory)][string] $Script)
    $process = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    # Progress records would go to stderr as CLIXML; a measurement wants only its one JSON line.
    $output = @(& $process @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>$null)
    if ($LASTEXITCODE -ne 0) { throw "Measurement failed: $($output -join "`n")" }
    $output[-1] | ConvertFrom-Json
}

function Measure-Cmdlet {
    param([string] $Name, [string] $Command)
    Write-Host "Measuring $Name..." -ForegroundColor Cyan
    Invoke-Pwsh @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$manifest'
`$count = 0
`$elapsed = Measure-Command { $Command | ForEach-Object { `$count++ } }
[pscustomobject]@{ Seconds = `$elapsed.TotalSeconds; Count = `$count; PeakWorkingSetMB = [math]::Round([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB) } | ConvertTo-Json -Compress
"@
}

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
    }
    tags    = $Tags
}
try {
    Write-Host 'Building the lab console...' -ForegroundColor Cyan
    $labOut = Join-Path $work 'lab'
    & dotnet build (Join-Path $root 'tests/RegistryCleaner.Lab') -c Release -o $labOut --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Building tests/RegistryCleaner.Lab failed.' }
    $labDll = Join-Path $labOut 'RegistryCleaner.Lab.dll'

    $lab = Start-LabRegistry
    Write-Host "Seeding $Tags tags into $($lab.Url)..." -ForegroundColor Cyan
    $tagList = Join-Path $work 'tags.txt'
    $seed = & dotnet $labDll seed-registry --url $lab.Url --tags $Tags --tag-list $tagList | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw 'Seeding failed.' }
    $results.seed = $seed

    # Raw capacity: wrk GETs every tag's manifest in turn with the same Accept header the client sends.
    Write-Host 'Measuring raw manifest GETs with wrk...' -ForegroundColor Cyan
    $paths = Get-Content $tagList | ForEach-Object { $r, $t = $_ -split ':', 2; "/v2/$r/manifests/$t" }
    $lua = Join-Path $work 'manifests.lua'
    $pathFile = Join-Path $work 'paths.txt'
    Set-Content $pathFile $paths
    Set-Content $lua @"
local paths = {}
for line in io.lines("$pathFile") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i], { ["Accept"] = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json" })
end
"@
    $wrk = & wrk -t2 -c16 -d10s -s $lua $lab.Url 2>&1
    $raw = [double](($wrk | Select-String 'Requests/sec:\s+([\d.]+)').Matches[0].Groups[1].Value)
    $results.rawManifestGetsPerSecond = [math]::Round($raw)

    # The Python tool's approach: one skopeo inspect process per tag, 4 at a time.
    $sample = @(Get-Content $tagList | Select-Object -First $SkopeoSample)
    Write-Host "Measuring skopeo inspect per tag on $($sample.Count) tags..." -ForegroundColor Cyan
    $host_ = $lab.Registry
    $skopeo = Measure-Command {
        $sample | ForEach-Object -ThrottleLimit 4 -Parallel {
            & skopeo inspect --tls-verify=false "docker://$using:host_/$_" | Out-Null
        }
    }
    $results.skopeoTagsPerSecond = [math]::Round($sample.Count / $skopeo.TotalSeconds, 1)

    $registryArgs = "-Registry '$($lab.Url)' -Repository 'dominodatalab/*'"
    # The measurements share one image configuration cache of their own, empty before the first.
    $env:REGISTRY_CLEANER_CACHE_DIR = Join-Path $work 'cache'
    $cold = Measure-Cmdlet 'Get-RegistryImage (empty cache)' "Get-RegistryImage $registryArgs"
    $image = Measure-Cmdlet 'Get-RegistryImage' "Get-RegistryImage $registryArgs"
    $layer = Measure-Cmdlet 'Get-RegistryLayer' "Get-RegistryLayer $registryArgs"

    # Usage from the Kubernetes stand-in: the same cluster read by Get-WorkloadImage and by kubectl.
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

    # Kubernetes usage from a snapshot only: Domino's records are measured on their own below.
    $unused = Measure-Cmdlet 'Get-UnusedImage' "Get-UnusedImage $registryArgs -MongoUsage:`$false -InUse (Get-WorkloadImage -Path '$snapshot')"

    $results.inventory = [ordered]@{}
    foreach ($entry in @(@('Get-RegistryImage (empty cache)', $cold), @('Get-RegistryImage', $image), @('Get-RegistryLayer', $layer), @('Get-UnusedImage', $unused))) {
        $perSecond = $Tags / $entry[1].Seconds
        $results.inventory[$entry[0]] = [ordered]@{
            seconds = [math]::Round($entry[1].Seconds, 2); objects = $entry[1].Count
            tagsPerSecond = [math]::Round($perSecond); ratioToRaw = [math]::Round($perSecond / $raw, 2)
            ratioToSkopeo = [math]::Round($perSecond / $results.skopeoTagsPerSecond, 1)
            peakWorkingSetMB = $entry[1].PeakWorkingSetMB
        }
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
}
finally {
    if ($kubernetes) { $kubernetes.StandardInput.Close(); if (-not $kubernetes.WaitForExit(10000)) { $kubernetes.Kill() } }
    if ($mongo) { $mongo.StandardInput.Close(); if (-not $mongo.WaitForExit(10000)) { $mongo.Kill() } }
    if ($lab) { Stop-LabRegistry $lab }
    $env:REGISTRY_CLEANER_CACHE_DIR = $savedCacheDir
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

$resultFile = Join-Path $PSScriptRoot ("results-{0}.json" -f (Get-Date -Format 'yyyy-MM-dd'))
$results | ConvertTo-Json -Depth 6 | Set-Content $resultFile

$i = $results.inventory
$table = @(
    "| measurement | result | target |"
    "|---|---|---|"
    "| raw manifest GETs (wrk, 16 connections) | $($results.rawManifestGetsPerSecond)/s | |"
    "| skopeo inspect per tag, 4 at a time (Python tool's approach) | $($results.skopeoTagsPerSecond) tags/s | |"
    foreach ($name in 'Get-RegistryImage (empty cache)', 'Get-RegistryImage', 'Get-RegistryLayer', 'Get-UnusedImage') {
        "| $name, $Tags tags | $($i[$name].tagsPerSecond) tags/s, $($i[$name].ratioToRaw)x raw, $($i[$name].ratioToSkopeo)x skopeo, $($i[$name].peakWorkingSetMB) MB peak | >= 0.5x raw, >= 15x skopeo |"
    }
    "| Get-WorkloadImage, $Pods pods + $Controllers controllers | $($results.usage.getWorkloadImageSeconds) s vs kubectl $($results.usage.kubectlSeconds) s ($($results.usage.ratioToKubectl)x), $($results.usage.images) images (expected $($results.usage.expectedImages)) | <= 1.0x kubectl, exact count |"
    "| planner, $($results.planner.tags) tags, $($results.planner.layerReferences) layer refs | $($results.planner.warmSeconds) s warm ($($results.planner.coldSeconds) s cold), $($results.planner.allocatedMegabytes) MB allocated | <= 2 s |"
    "| Domino's records (Get-DominoImageUsage), $($results.dominoRecords.runs) runs + $($results.dominoRecords.workspaces) workspaces, $($results.dominoRecords.documents) documents | $($results.dominoRecords.seconds) s, $($results.dominoRecords.references) references, $($results.dominoRecords.peakWorkingSetMB) MB peak | seconds |"
    "| Import-Module (median of 5) | $($results.importMilliseconds) ms | <= 500 ms |"
)
Write-Host ''
Write-Host "Machine: $($results.machine.os), $($results.machine.cpus) cores, $($results.machine.memoryGB) GB, .NET $($results.machine.dotnet), PowerShell $($results.machine.powershell)"
$table | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host "Results written to $resultFile" -ForegroundColor Green
