# What the bench scripts (Invoke-Bench.ps1, Compare-Pwsh.ps1) share: building the Lab console, reading the image list
# the Lab's seed-storage writes, wrk runs whose requests are exactly a client's, and the CPUs this process may use.
# A module does not inherit its caller's preferences: every failure here stops the measurement.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# The Accept header RegistryCleaner sends with every manifest GET, so the registry does the same work for wrk.
$ManifestAccept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'

function Build-LabConsole {
    # Builds tests/RegistryCleaner.Lab into -Out and returns the path of its dll.
    param([Parameter(Mandatory)][string] $Root, [Parameter(Mandatory)][string] $Out)
    & dotnet build (Join-Path $Root 'tests/RegistryCleaner.Lab') -c Release -o $Out --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Building tests/RegistryCleaner.Lab failed.' }
    Join-Path $Out 'RegistryCleaner.Lab.dll'
}

function Read-SeededImage {
    # The images the Lab's seed-storage --image-list wrote: one "repository<TAB>tag<TAB>digest<TAB>config digest" line
    # per tag.
    param([Parameter(Mandatory)][string] $Path)
    foreach ($line in Get-Content -LiteralPath $Path) {
        $repository, $tag, $digest, $config = $line -split "`t"
        [pscustomobject]@{ Repository = $repository; Tag = $tag; Digest = $digest; Config = $config }
    }
}

function Get-WrkLine {
    # wrk request lines for Invoke-Wrk: each image's manifest GET ("M <path>"), and with -Config its configuration blob
    # GET after it ("B <path>"), the requests a first read makes.
    param([Parameter(Mandatory)][object[]] $Image, [switch] $Config)
    foreach ($i in $Image) {
        "M /v2/$($i.Repository)/manifests/$($i.Tag)"
        if ($Config) { "B /v2/$($i.Repository)/blobs/$($i.Config)" }
    }
}

function Invoke-Wrk {
    # wrk with 16 connections for 10 s over -Line ("M <path>": manifest GET with the client's Accept header; "B <path>":
    # blob GET), each in turn; its list and Lua script go to -Work as <Name>.txt and <Name>.lua. Returns requests/s and
    # how many answers were not 2xx/3xx; throws with wrk's output when it measured nothing. -Cpus runs wrk on those CPUs
    # only (taskset).
    param(
        [Parameter(Mandatory)][string] $Url,
        [Parameter(Mandatory)][string[]] $Line,
        [Parameter(Mandatory)][string] $Work,
        [Parameter(Mandatory)][string] $Name,
        [string] $Cpus
    )
    $listFile = Join-Path $Work "$Name.txt"
    $lua = Join-Path $Work "$Name.lua"
    Set-Content -LiteralPath $listFile $Line
    Set-Content -LiteralPath $lua @"
local paths, kinds = {}, {}
for line in io.lines("$listFile") do kinds[#kinds + 1] = line:sub(1, 1); paths[#paths + 1] = line:sub(3) end
local i = 0
request = function()
  i = (i % #paths) + 1
  if kinds[i] == "M" then
    return wrk.format("GET", paths[i], { ["Accept"] = "$ManifestAccept" })
  end
  return wrk.format("GET", paths[i])
end
"@
    $command = @('wrk', '-t2', '-c16', '-d10s', '-s', $lua, $Url)
    if ($Cpus) { $command = @('/usr/bin/taskset', '-c', $Cpus) + $command }
    $out = & $command[0] ($command | Select-Object -Skip 1) 2>&1
    $rate = $out | Select-String 'Requests/sec:\s+([\d.]+)'
    if (-not $rate) { throw "wrk measured nothing ($Name): $($out -join "`n")" }
    $bad = $out | Select-String 'Non-2xx or 3xx responses:\s+(\d+)'
    [pscustomobject]@{
        RequestsPerSecond = [double]$rate.Matches[0].Groups[1].Value
        Non2xx            = if ($bad) { [int]$bad.Matches[0].Groups[1].Value } else { 0 }
    }
}

function Get-AllowedCpu {
    # The CPUs this process may run on (Cpus_allowed_list in /proc/self/status, e.g. "0-3,8"), in order; none where
    # there is no /proc (not Linux).
    $status = '/proc/self/status'
    if (-not (Test-Path -LiteralPath $status)) { return }
    $line = Get-Content -LiteralPath $status | Where-Object { $_ -like 'Cpus_allowed_list:*' } | Select-Object -First 1
    if (-not $line) { return }
    foreach ($range in ($line -replace '^Cpus_allowed_list:\s*', '').Trim() -split ',') {
        $first, $last = $range -split '-'
        if (-not $last) { $last = $first }
        [int]$first..[int]$last
    }
}

Export-ModuleMember -Function Build-LabConsole, Read-SeededImage, Get-WrkLine, Invoke-Wrk, Get-AllowedCpu
