# RegistryLab: a real local docker-registry for the Pester tests, the Demo and the Bench.
# Each lab is one `docker-registry serve` process on a free loopback port with its own temporary storage; images are
# pushed over the distribution API (monolithic blob uploads, manifest PUTs), so what the cmdlets read is real.
# Processes are only ever stopped by the PID this module started.

Set-StrictMode -Version Latest

$script:DockerManifest = 'application/vnd.docker.distribution.manifest.v2+json'
$script:DockerList = 'application/vnd.docker.distribution.manifest.list.v2+json'
$script:OciManifest = 'application/vnd.oci.image.manifest.v1+json'
$script:OciIndex = 'application/vnd.oci.image.index.v1+json'
$script:AcceptAll = "$script:DockerManifest, $script:DockerList, $script:OciManifest, $script:OciIndex"

function Get-LabDigest {
    param([Parameter(Mandatory)][byte[]] $Content)
    'sha256:' + [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($Content)).ToLowerInvariant()
}

function New-LabBytes {
    <#
    .SYNOPSIS
    Returns deterministic pseudo-random bytes: the same size and seed always give the same bytes (and digest).
    #>
    [OutputType([byte[]])]
    param([Parameter(Mandatory)][int] $Size, [Parameter(Mandatory)][int] $Seed)
    $bytes = [byte[]]::new($Size)
    [Random]::new($Seed).NextBytes($bytes)
    , $bytes
}

function Get-LabFreePort {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Invoke-LabRequest {
    # One HTTP request to the lab registry; throws with the registry's answer on a non-success status.
    param(
        [Parameter(Mandatory)] $Lab,
        [Parameter(Mandatory)][Net.Http.HttpMethod] $Method,
        [Parameter(Mandatory)][string] $Path,
        [byte[]] $Body,
        [string] $ContentType,
        [string] $Accept
    )
    $request = [Net.Http.HttpRequestMessage]::new($Method, [Uri]::new([Uri]$Lab.Url, $Path))
    if ($Accept) { [void]$request.Headers.TryAddWithoutValidation('Accept', $Accept) }
    if ($null -ne $Body) {
        $request.Content = [Net.Http.ByteArrayContent]::new($Body)
        if ($ContentType) { $request.Content.Headers.ContentType = [Net.Http.Headers.MediaTypeHeaderValue]::Parse($ContentType) }
    }
    $response = $Lab.Http.SendAsync($request).GetAwaiter().GetResult()
    if (-not $response.IsSuccessStatusCode) {
        $text = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
        throw "$($Method) $Path answered $([int]$response.StatusCode): $text"
    }
    $response
}

function Start-LabRegistry {
    <#
    .SYNOPSIS
    Starts Debian's docker-registry on a free loopback port with its own temporary storage.
    .DESCRIPTION
    Writes a config.yml into a new temporary folder, starts `docker-registry serve config.yml` (output to registry.log in
    the same folder) and waits until /v2/ answers. Returns the lab: Url (http://127.0.0.1:port), Registry
    (127.0.0.1:port), ConfigPath, StoragePath, Root, LogPath, Process, Credential and Blobs (digest -> size of every layer
    and config pushed). Stop it with Stop-LabRegistry.
    .PARAMETER Htpasswd
    Protects the registry with HTTP basic authentication (an htpasswd file with -Credential's user, bcrypt).
    .PARAMETER Credential
    The user and password of -Htpasswd; the lab's own pushes use it.
    .PARAMETER DeleteEnabled
    Sets storage.delete.enabled (default $true); $false makes manifest DELETE answer 405.
    .PARAMETER StoragePath
    Serves an existing filesystem storage (the folder holding docker/registry/v2, e.g. one written by the Lab's
    seed-storage) instead of a new, empty one. The registry writes into it (DELETEs unlink link files), so give it a copy
    that belongs to this lab; Stop-LabRegistry leaves it in place for its owner to remove.
    .PARAMETER ReadOnly
    Puts the registry in read-only maintenance mode: it serves GETs and refuses every write, so several contenders can
    read one storage (a seeded template) without copying it.
    .PARAMETER Port
    The loopback port to serve on; default a free one. A registry that is restarted during a test should get one
    below the ephemeral range, which nothing else takes while it restarts.
    .PARAMETER Cpus
    Runs the registry on these CPUs only (a taskset list such as '0' or '0-1'), started under taskset so that Go's
    runtime sizes itself to them; the bench uses it to give the registry cores of its own, apart from its clients.
    .EXAMPLE
    $lab = Start-LabRegistry; try { Publish-LabImage -Lab $lab -Repository demo/app -Tag v1 } finally { Stop-LabRegistry $lab }
    #>
    [CmdletBinding()]
    param(
        [switch] $Htpasswd,
        [pscredential] $Credential,
        [bool] $DeleteEnabled = $true,
        [string] $StoragePath,
        [switch] $ReadOnly,
        [int] $Port,
        [string] $Cpus
    )
    $binary = '/usr/bin/docker-registry'
    if (-not (Test-Path $binary)) {
        throw "docker-registry is not installed ($binary is missing). Install it with: sudo apt-get install docker-registry"
    }
    if ($Cpus) {
        if (-not (Test-Path '/usr/bin/taskset')) {
            throw "-Cpus needs taskset (/usr/bin/taskset is missing). Install it with: sudo apt-get install util-linux"
        }
        # taskset's own complaint (a CPU this process may not use, a malformed list) would otherwise be lost: the
        # registry's log is empty when taskset never starts it.
        $complaint = & /usr/bin/taskset -c $Cpus /bin/true 2>&1
        if ($LASTEXITCODE -ne 0) { throw "-Cpus '$Cpus' cannot be used: $($complaint -join ' ')" }
    }
    if ($Htpasswd -and -not $Credential) { throw '-Htpasswd needs -Credential (the user and password the registry accepts).' }

    $root = Join-Path ([IO.Path]::GetTempPath()) ("registrylab-" + [Guid]::NewGuid().ToString('n').Substring(0, 12))
    if ($StoragePath) {
        if (-not (Test-Path -LiteralPath $StoragePath -PathType Container)) { throw "-StoragePath '$StoragePath' is not a folder." }
        $storage = (Resolve-Path -LiteralPath $StoragePath).ProviderPath
        [void](New-Item -ItemType Directory -Path $root -Force)
    }
    else {
        $storage = Join-Path $root 'storage'
        [void](New-Item -ItemType Directory -Path $storage -Force)
    }
    $port = if ($Port) { $Port } else { Get-LabFreePort }
    $config = Join-Path $root 'config.yml'
    $log = Join-Path $root 'registry.log'
    $yaml = @(
        'version: 0.1'
        'log:'
        '  level: warn'
        '  accesslog:'
        '    disabled: true'
        'storage:'
        '  filesystem:'
        "    rootdirectory: $storage"
        '  delete:'
        "    enabled: $($DeleteEnabled.ToString().ToLowerInvariant())"
        '  maintenance:'
        '    uploadpurging:'
        '      enabled: false'
        '    readonly:'
        "      enabled: $($ReadOnly.IsPresent.ToString().ToLowerInvariant())"
        'http:'
        "  addr: 127.0.0.1:$port"
        '  secret: registrylab-secret'
        'health:'
        '  storagedriver:'
        '    enabled: false'
    )
    if ($Htpasswd) {
        $htpasswdPath = Join-Path $root 'htpasswd'
        # The password goes through stdin (-i), never a process argument.
        $line = $Credential.GetNetworkCredential().Password | & htpasswd -niB -C 4 $Credential.UserName
        if ($LASTEXITCODE -ne 0) { throw 'htpasswd failed (apt-get install apache2-utils).' }
        Set-Content -Path $htpasswdPath -Value (($line | Out-String).Trim()) -NoNewline
        $yaml += @('auth:', '  htpasswd:', '    realm: registrylab', "    path: $htpasswdPath")
    }
    Set-Content -Path $config -Value ($yaml -join "`n")

    # sh execs the registry, so the PID we keep is the registry's own; sh only sets up the log redirection. With -Cpus,
    # taskset sets the CPUs and execs sh, so the PID is still the registry's.
    $command = @('/bin/sh', '-c', 'exec "$0" serve "$1" >"$2" 2>&1', $binary, $config, $log)
    if ($Cpus) { $command = @('/usr/bin/taskset', '-c', $Cpus) + $command }
    $start = [Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($argument in ($command | Select-Object -Skip 1)) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)

    $handler = [Net.Http.HttpClientHandler]::new()
    $http = [Net.Http.HttpClient]::new($handler)
    $http.Timeout = [TimeSpan]::FromSeconds(30)
    if ($Credential) {
        $pair = '{0}:{1}' -f $Credential.UserName, $Credential.GetNetworkCredential().Password
        $http.DefaultRequestHeaders.Authorization = [Net.Http.Headers.AuthenticationHeaderValue]::new('Basic', [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($pair)))
    }
    $lab = [pscustomobject]@{
        PSTypeName  = 'RegistryLab.Lab'
        Url         = "http://127.0.0.1:$port"
        Registry    = "127.0.0.1:$port"
        Port        = $port
        Root        = $root
        ConfigPath  = $config
        StoragePath = $storage
        LogPath     = $log
        Process     = $process
        Credential  = $Credential
        Http        = $http
        Blobs       = @{}
    }

    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ($true) {
        if ($process.HasExited) {
            $text = if (Test-Path $log) { Get-Content $log -Raw } else { '' }
            Stop-LabRegistry $lab
            throw "docker-registry exited with $($process.ExitCode) before answering: $text"
        }
        try {
            $probe = $http.GetAsync("$($lab.Url)/v2/").GetAwaiter().GetResult()
            if ($probe.IsSuccessStatusCode -or [int]$probe.StatusCode -eq 401) { break }
        }
        catch [Net.Http.HttpRequestException] { }
        catch [Management.Automation.MethodInvocationException] { }
        if ([DateTime]::UtcNow -gt $deadline) {
            Stop-LabRegistry $lab
            throw "docker-registry did not answer on $($lab.Url)/v2/ within 20 s."
        }
        Start-Sleep -Milliseconds 50
    }
    $lab
}

function Stop-LabRegistry {
    <#
    .SYNOPSIS
    Stops a lab's registry (its own process, by PID) and removes its temporary folder.
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .EXAMPLE
    Stop-LabRegistry $lab
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] $Lab)
    if ($Lab.Process -and -not $Lab.Process.HasExited) {
        $Lab.Process.Kill()
        [void]$Lab.Process.WaitForExit(10000)
    }
    if ($Lab.Http) { $Lab.Http.Dispose() }
    if ($Lab.Root -and (Test-Path $Lab.Root)) { Remove-Item -LiteralPath $Lab.Root -Recurse -Force -ErrorAction SilentlyContinue }
}

function Publish-LabBlob {
    <#
    .SYNOPSIS
    Uploads one blob monolithically (POST /v2/<repo>/blobs/uploads/, then PUT ?digest=) and returns its Digest and Size.
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER Repository
    The repository to upload into.
    .PARAMETER Content
    The bytes.
    .EXAMPLE
    Publish-LabBlob -Lab $lab -Repository demo/app -Content ([Text.Encoding]::UTF8.GetBytes('hello'))
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)][string] $Repository, [Parameter(Mandatory)][byte[]] $Content)
    $digest = Get-LabDigest $Content
    $started = Invoke-LabRequest -Lab $Lab -Method Post -Path "/v2/$Repository/blobs/uploads/" -Body ([byte[]]::new(0))
    $location = [Uri]::new([Uri]$Lab.Url, $started.Headers.Location.ToString())
    $separator = if ($location.Query) { '&' } else { '?' }
    $target = $location.PathAndQuery + $separator + 'digest=' + [Uri]::EscapeDataString($digest)
    [void](Invoke-LabRequest -Lab $Lab -Method Put -Path $target -Body $Content -ContentType 'application/octet-stream')
    $Lab.Blobs[$digest] = [long]$Content.Length
    [pscustomobject]@{ Digest = $digest; Size = [long]$Content.Length }
}

function Publish-LabManifest {
    # PUTs manifest bytes under a tag or digest reference and returns the digest.
    param($Lab, [string] $Repository, [string] $Reference, [byte[]] $Content, [string] $MediaType)
    $digest = Get-LabDigest $Content
    [void](Invoke-LabRequest -Lab $Lab -Method Put -Path "/v2/$Repository/manifests/$(if ($Reference) { $Reference } else { $digest })" -Body $Content -ContentType $MediaType)
    $digest
}

function Publish-LabImage {
    <#
    .SYNOPSIS
    Pushes an image: its layers, a config blob (created, architecture, os) and a Docker or OCI manifest.
    .DESCRIPTION
    Returns Repository, Tag, Digest, MediaType, ManifestSize, Config (Digest, Size), Layers (Digest, Size), Platform,
    Created and Size (config + distinct layers, what Get-RegistryImage reports).
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER Repository
    The repository.
    .PARAMETER Tag
    The tag; omit to push the manifest by digest only (an index child).
    .PARAMETER Layers
    The layers: byte arrays, or sizes in bytes (then the bytes come from -Seed and the position). Default: one 2 KB layer.
    .PARAMETER Seed
    The seed for layers given as sizes and for the config's uniqueness.
    .PARAMETER MediaType
    Docker (schema 2) or Oci.
    .PARAMETER Created
    The image creation time written to the config.
    .PARAMETER Platform
    os/architecture[/variant], default linux/amd64.
    .EXAMPLE
    Publish-LabImage -Lab $lab -Repository dominodatalab/environment -Tag 659c7bce85f6381e675bb205-1 -Layers 4096, 2048 -Seed 7
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Lab,
        [Parameter(Mandatory)][string] $Repository,
        [string] $Tag,
        [object[]] $Layers = @(2048),
        [int] $Seed = 1,
        [ValidateSet('Docker', 'Oci')][string] $MediaType = 'Docker',
        [DateTimeOffset] $Created = [DateTimeOffset]::new(2024, 1, 1, 0, 0, 0, [TimeSpan]::Zero),
        [string] $Platform = 'linux/amd64'
    )
    $layerBlobs = [Collections.Generic.List[object]]::new()
    $index = 0
    foreach ($layer in $Layers) {
        $bytes = if ($layer -is [byte[]]) { $layer } else { New-LabBytes -Size ([int]$layer) -Seed ($Seed * 1000 + $index) }
        $layerBlobs.Add((Publish-LabBlob -Lab $Lab -Repository $Repository -Content $bytes))
        $index++
    }
    $os, $architecture, $variant = $Platform -split '/'
    $configObject = [ordered]@{
        created      = $Created.UtcDateTime.ToString('yyyy-MM-ddTHH:mm:ssZ')
        architecture = $architecture
        os           = $os
        config       = @{ Labels = @{ 'registrylab.seed' = "$Seed"; 'registrylab.tag' = "${Repository}:$Tag" } }
        rootfs       = @{ type = 'layers'; diff_ids = @($layerBlobs | ForEach-Object Digest) }
    }
    if ($variant) { $configObject.variant = $variant }
    $configBytes = [Text.Encoding]::UTF8.GetBytes(($configObject | ConvertTo-Json -Depth 6 -Compress))
    $config = Publish-LabBlob -Lab $Lab -Repository $Repository -Content $configBytes

    $docker = $MediaType -eq 'Docker'
    $manifestType = if ($docker) { $script:DockerManifest } else { $script:OciManifest }
    $configType = if ($docker) { 'application/vnd.docker.container.image.v1+json' } else { 'application/vnd.oci.image.config.v1+json' }
    $layerType = if ($docker) { 'application/vnd.docker.image.rootfs.diff.tar.gzip' } else { 'application/vnd.oci.image.layer.v1.tar+gzip' }
    $manifest = [ordered]@{
        schemaVersion = 2
        mediaType     = $manifestType
        config        = [ordered]@{ mediaType = $configType; size = $config.Size; digest = $config.Digest }
        layers        = @($layerBlobs | ForEach-Object { [ordered]@{ mediaType = $layerType; size = $_.Size; digest = $_.Digest } })
    }
    $manifestBytes = [Text.Encoding]::UTF8.GetBytes(($manifest | ConvertTo-Json -Depth 6 -Compress))
    $digest = Publish-LabManifest -Lab $Lab -Repository $Repository -Reference $Tag -Content $manifestBytes -MediaType $manifestType
    $distinct = @{}
    foreach ($blob in @($config) + @($layerBlobs)) { $distinct[$blob.Digest] = $blob.Size }
    [pscustomobject]@{
        Repository   = $Repository
        Tag          = $Tag
        Digest       = $digest
        MediaType    = $manifestType
        ManifestSize = [long]$manifestBytes.Length
        Config       = $config
        Layers       = @($layerBlobs)
        Platform     = $Platform
        Created      = $Created
        Size         = [long]($distinct.Values | Measure-Object -Sum).Sum
        Blobs        = $distinct
    }
}

function Add-LabTag {
    <#
    .SYNOPSIS
    Tags an existing manifest again: GETs it by tag or digest and PUTs the same bytes under another tag.
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER Repository
    The repository.
    .PARAMETER Reference
    The existing tag or digest.
    .PARAMETER Tag
    The new tag.
    .EXAMPLE
    Add-LabTag -Lab $lab -Repository demo/app -Reference v1 -Tag latest
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)][string] $Repository, [Parameter(Mandatory)][string] $Reference, [Parameter(Mandatory)][string] $Tag)
    $response = Invoke-LabRequest -Lab $Lab -Method Get -Path "/v2/$Repository/manifests/$Reference" -Accept $script:AcceptAll
    $bytes = $response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult()
    $type = $response.Content.Headers.ContentType.MediaType
    $digest = Publish-LabManifest -Lab $Lab -Repository $Repository -Reference $Tag -Content $bytes -MediaType $type
    [pscustomobject]@{ Repository = $Repository; Tag = $Tag; Digest = $digest; MediaType = $type }
}

function Publish-LabIndex {
    <#
    .SYNOPSIS
    Pushes a multi-arch index (OCI index or Docker manifest list) over images already pushed to the same repository.
    .DESCRIPTION
    Returns Repository, Tag, Digest, MediaType, Children, Platforms and Size (distinct blobs of all children).
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER Repository
    The repository.
    .PARAMETER Tag
    The index tag.
    .PARAMETER Images
    The children, as returned by Publish-LabImage (usually pushed without -Tag).
    .PARAMETER MediaType
    Oci (image index) or Docker (manifest list).
    .EXAMPLE
    $amd = Publish-LabImage -Lab $lab -Repository demo/app -Platform linux/amd64 -Seed 1
    $arm = Publish-LabImage -Lab $lab -Repository demo/app -Platform linux/arm64 -Seed 2
    Publish-LabIndex -Lab $lab -Repository demo/app -Tag multi -Images $amd, $arm
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Lab,
        [Parameter(Mandatory)][string] $Repository,
        [Parameter(Mandatory)][string] $Tag,
        [Parameter(Mandatory)][object[]] $Images,
        [ValidateSet('Docker', 'Oci')][string] $MediaType = 'Oci'
    )
    $type = if ($MediaType -eq 'Oci') { $script:OciIndex } else { $script:DockerList }
    $index = [ordered]@{
        schemaVersion = 2
        mediaType     = $type
        manifests     = @($Images | ForEach-Object {
                $os, $architecture, $variant = $_.Platform -split '/'
                $platform = [ordered]@{ architecture = $architecture; os = $os }
                if ($variant) { $platform.variant = $variant }
                [ordered]@{ mediaType = $_.MediaType; size = $_.ManifestSize; digest = $_.Digest; platform = $platform }
            })
    }
    $bytes = [Text.Encoding]::UTF8.GetBytes(($index | ConvertTo-Json -Depth 6 -Compress))
    $digest = Publish-LabManifest -Lab $Lab -Repository $Repository -Reference $Tag -Content $bytes -MediaType $type
    $distinct = @{}
    foreach ($image in $Images) { foreach ($key in $image.Blobs.Keys) { $distinct[$key] = $image.Blobs[$key] } }
    [pscustomobject]@{
        Repository = $Repository
        Tag        = $Tag
        Digest     = $digest
        MediaType  = $type
        Children   = @($Images)
        Platforms  = @($Images | ForEach-Object Platform)
        Size       = [long]($distinct.Values | Measure-Object -Sum).Sum
        Blobs      = $distinct
    }
}

function Invoke-LabGarbageCollect {
    <#
    .SYNOPSIS
    Runs the registry's own garbage collection (docker-registry garbage-collect <config>) and returns its output.
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER DeleteUntagged
    Also deletes manifests no tag references (--delete-untagged).
    .EXAMPLE
    $before = Get-LabBlobBytes $lab; Invoke-LabGarbageCollect $lab | Out-Null; $before - (Get-LabBlobBytes $lab)
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] $Lab, [switch] $DeleteUntagged)
    $arguments = @('garbage-collect')
    if ($DeleteUntagged) { $arguments += '--delete-untagged' }
    $output = & /usr/bin/docker-registry @arguments $Lab.ConfigPath 2>&1 | ForEach-Object { "$_" }
    if ($LASTEXITCODE -ne 0) { throw "garbage-collect exited with ${LASTEXITCODE}: $($output -join "`n")" }
    $output
}

function Get-LabBlobBytes {
    <#
    .SYNOPSIS
    Returns the bytes the registry stores: the sum of the files named data under <storage>/docker/registry/v2/blobs (manifests included).
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .EXAMPLE
    Get-LabBlobBytes $lab
    #>
    [CmdletBinding()]
    [OutputType([long])]
    param([Parameter(Mandatory, Position = 0)] $Lab)
    $blobs = Join-Path $Lab.StoragePath 'docker/registry/v2/blobs'
    if (-not (Test-Path $blobs)) { return [long]0 }
    [long](Get-ChildItem -LiteralPath $blobs -Recurse -File -Filter data | Measure-Object Length -Sum).Sum
}

function New-LabDominoSample {
    <#
    .SYNOPSIS
    Pushes deterministic Domino-like content and returns a description of it.
    .DESCRIPTION
    dominodatalab/environment: three environments with revisions <environmentId>-<n> (Docker manifests) that share two
    base layers; each environment adds a layer shared by its revisions and each revision one of its own. The last
    revision of the third environment is a multi-arch OCI index (linux/amd64 + linux/arm64). The tag latest points at the
    same digest as the first environment's last revision.
    dominodatalab/model: model images <modelId>-v<n>-<yyyyMMddHHmmss>_<8 chars> (OCI manifests) built on environment
    revision layers plus a model layer of their own.
    Returns Registry, Environments (Id, Tags), Models (Id, Tags), Images (one per tag: Repository, Tag, Digest, Size,
    MediaType, ObjectId, Platforms), IndexTag, AliasTag, Blobs (digest -> size of every layer and config) and BlobBytes
    (their sum, each counted once).
    .PARAMETER Lab
    The lab from Start-LabRegistry.
    .PARAMETER Repository
    The repository prefix, default dominodatalab.
    .EXAMPLE
    $sample = New-LabDominoSample $lab; $sample.Images | Format-Table Repository, Tag, Size
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] $Lab, [string] $Repository = 'dominodatalab')
    $envRepo = "$Repository/environment"
    $modelRepo = "$Repository/model"
    $base = @((New-LabBytes -Size 6144 -Seed 101), (New-LabBytes -Size 4096 -Seed 102))
    $environmentIds = @('659c7bce85f6381e675bb205', '659c7bce85f6381e675bb206', '65a0112233445566778899aa')
    $revisions = @(3, 2, 3)
    $start = [DateTimeOffset]::new(2024, 1, 10, 8, 0, 0, [TimeSpan]::Zero)
    $images = [Collections.Generic.List[object]]::new()
    $environments = [Collections.Generic.List[object]]::new()
    $revisionLayers = @{}
    $indexTag = $null
    for ($e = 0; $e -lt $environmentIds.Count; $e++) {
        $id = $environmentIds[$e]
        $envLayer = New-LabBytes -Size (3072 + 512 * $e) -Seed (200 + $e)
        $tags = @()
        for ($n = 1; $n -le $revisions[$e]; $n++) {
            $tag = "$id-$n"
            $own = New-LabBytes -Size (1024 + 256 * $n + 64 * $e) -Seed (300 + 10 * $e + $n)
            $layers = @($base[0], $base[1], $envLayer, $own)
            $created = $start.AddDays(7 * $e + $n)
            $revisionLayers[$tag] = $layers
            if ($e -eq 2 -and $n -eq $revisions[$e]) {
                $amd = Publish-LabImage -Lab $Lab -Repository $envRepo -Layers $layers -Seed (400 + $n) -MediaType Oci -Created $created -Platform linux/amd64
                $armOwn = New-LabBytes -Size 1536 -Seed 499
                $arm = Publish-LabImage -Lab $Lab -Repository $envRepo -Layers @($base[0], $base[1], $envLayer, $armOwn) -Seed (450 + $n) -MediaType Oci -Created $created -Platform linux/arm64
                $pushed = Publish-LabIndex -Lab $Lab -Repository $envRepo -Tag $tag -Images $amd, $arm -MediaType Oci
                $indexTag = $tag
            }
            else {
                $pushed = Publish-LabImage -Lab $Lab -Repository $envRepo -Tag $tag -Layers $layers -Seed (400 + 10 * $e + $n) -MediaType Docker -Created $created
            }
            $images.Add([pscustomobject]@{
                    Repository = $envRepo; Tag = $tag; Digest = $pushed.Digest; Size = $pushed.Size; MediaType = $pushed.MediaType
                    ObjectId = $id; Platforms = @(if ($pushed.PSObject.Properties['Platforms']) { $pushed.Platforms } else { $pushed.Platform })
                    Blobs = $pushed.Blobs
                })
            $tags += $tag
        }
        $environments.Add([pscustomobject]@{ Id = $id; Tags = $tags })
    }

    # Two tags on one digest: latest is the first environment's last revision.
    $aliasOf = $images | Where-Object Tag -EQ "$($environmentIds[0])-$($revisions[0])"
    $alias = Add-LabTag -Lab $Lab -Repository $envRepo -Reference $aliasOf.Tag -Tag latest
    $images.Add([pscustomobject]@{
            Repository = $envRepo; Tag = 'latest'; Digest = $alias.Digest; Size = $aliasOf.Size; MediaType = $aliasOf.MediaType
            ObjectId = $null; Platforms = $aliasOf.Platforms; Blobs = $aliasOf.Blobs
        })

    $modelIds = @('659d755348824d102d3ec6df', '659d755348824d102d3ec6e0')
    $builtOn = @("$($environmentIds[0])-2", "$($environmentIds[1])-1")
    $models = [Collections.Generic.List[object]]::new()
    for ($m = 0; $m -lt $modelIds.Count; $m++) {
        $id = $modelIds[$m]
        $tags = @()
        for ($v = 1; $v -le 2; $v++) {
            $created = $start.AddDays(30 + 3 * $m + $v).AddHours(5)
            $suffix = -join ((New-LabBytes -Size 8 -Seed (600 + 10 * $m + $v)) | ForEach-Object { 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'[$_ % 56] })
            $tag = '{0}-v{1}-{2}_{3}' -f $id, $v, $created.UtcDateTime.ToString('yyyyMMddHHmmss'), $suffix
            $layers = @($revisionLayers[$builtOn[$m]]) + @(, (New-LabBytes -Size (2048 + 128 * $v) -Seed (700 + 10 * $m + $v)))
            $pushed = Publish-LabImage -Lab $Lab -Repository $modelRepo -Tag $tag -Layers $layers -Seed (800 + 10 * $m + $v) -MediaType Oci -Created $created
            $images.Add([pscustomobject]@{
                    Repository = $modelRepo; Tag = $tag; Digest = $pushed.Digest; Size = $pushed.Size; MediaType = $pushed.MediaType
                    ObjectId = $id; Platforms = @($pushed.Platform); Blobs = $pushed.Blobs
                })
            $tags += $tag
        }
        $models.Add([pscustomobject]@{ Id = $id; BuiltOn = $builtOn[$m]; Tags = $tags })
    }

    $blobs = @{}
    foreach ($image in $images) { foreach ($key in $image.Blobs.Keys) { $blobs[$key] = $image.Blobs[$key] } }
    [pscustomobject]@{
        Registry     = $Lab.Registry
        Environments = @($environments)
        Models       = @($models)
        Images       = @($images)
        IndexTag     = $indexTag
        AliasTag     = 'latest'
        Blobs        = $blobs
        BlobBytes    = [long]($blobs.Values | Measure-Object -Sum).Sum
    }
}

Export-ModuleMember -Function Start-LabRegistry, Stop-LabRegistry, Publish-LabBlob, Publish-LabImage, Add-LabTag, Publish-LabIndex,
    Invoke-LabGarbageCollect, Get-LabBlobBytes, New-LabDominoSample, New-LabBytes
