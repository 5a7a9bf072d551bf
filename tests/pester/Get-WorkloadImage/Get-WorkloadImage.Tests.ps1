BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force

    $envId = '659c7bce85f6381e675bb205'
    $modelId = '659d755348824d102d3ec6df'
    $doneId = 'aaaaaaaaaaaaaaaaaaaaaaaa'
    $digest = 'sha256:' + ('ab' * 32)
    $registry = 'docker-registry:5000'

    function New-Pod {
        param([string] $Name, [string] $Namespace, [string] $Phase, [hashtable] $Spec, [hashtable] $Status = @{}, [hashtable] $Labels = @{})
        @{
            apiVersion = 'v1'; kind = 'Pod'
            metadata   = @{ name = $Name; namespace = $Namespace; labels = $Labels }
            spec       = $Spec
            status     = @{ phase = $Phase } + $Status
        }
    }

    function New-Controller {
        param([string] $Kind, [string] $ApiVersion, [string] $Name, [string] $Namespace, [string[]] $Images, [hashtable] $Extra = @{})
        $template = @{ metadata = @{ labels = @{ app = $Name } }; spec = @{ containers = @(foreach ($i in $Images) { @{ name = 'main'; image = $i } }) } }
        $spec = if ($Kind -eq 'CronJob') { @{ suspend = $true; schedule = '0 * * * *'; jobTemplate = @{ spec = @{ template = $template } } } }
        else { @{ replicas = 0; template = $template } }
        @{ apiVersion = $ApiVersion; kind = $Kind; metadata = @{ name = $Name; namespace = $Namespace }; spec = $spec + $Extra }
    }

    $dominoLabels = @{
        'dominodatalab.com/workload-type'          = 'Workspace'
        'dominodatalab.com/project-name'           = 'churn'
        'dominodatalab.com/project-owner-username' = 'ada'
    }
    $items = @(
        New-Pod -Name 'run-1' -Namespace 'domino-compute' -Phase 'Running' -Labels $dominoLabels -Spec @{
            containers          = @(@{ name = 'run'; image = "$registry/dominodatalab/environment:$envId-12" })
            initContainers      = @(@{ name = 'setup'; image = "$registry/dominodatalab/init:1.0" })
            ephemeralContainers = @(@{ name = 'debugger'; image = 'busybox:1.36' })
        } -Status @{ containerStatuses = @(@{ name = 'run'; image = "$registry/dominodatalab/environment:$envId-12"; imageID = "docker-pullable://$registry/dominodatalab/environment@$digest" }) }
        New-Pod -Name 'model-1' -Namespace 'domino-compute' -Phase 'Running' -Labels @{ 'dominodatalab.com/workload-type' = 'ModelAPI'; 'dominodatalab.com/project-name' = 'fraud' } -Spec @{
            containers = @(@{ name = 'model'; image = "$registry/dominodatalab/model:$modelId-v1-202419163323_HfGeD8Ia" })
        }
        New-Pod -Name 'run-2' -Namespace 'domino-compute' -Phase 'Pending' -Labels @{ 'dominodatalab.com/workload-type' = 'Batch'; 'dominodatalab.com/project-name' = 'churn' } -Spec @{
            containers = @(@{ name = 'run'; image = "$registry/dominodatalab/environment:$envId-12" })
        }
        New-Pod -Name 'run-done' -Namespace 'domino-compute' -Phase 'Succeeded' -Spec @{ containers = @(@{ name = 'run'; image = "$registry/dominodatalab/environment:$doneId-1" }) }
        New-Pod -Name 'run-failed' -Namespace 'domino-compute' -Phase 'Failed' -Spec @{ containers = @(@{ name = 'run'; image = "$registry/dominodatalab/environment:$doneId-2" }) }
        New-Pod -Name 'web' -Namespace 'default' -Phase 'Running' -Spec @{ containers = @(@{ name = 'web'; image = 'nginx' }) }
        New-Controller -Kind 'Deployment' -ApiVersion 'apps/v1' -Name 'nucleus' -Namespace 'domino-platform' -Images "$registry/dominodatalab/nucleus:5.1"
        New-Controller -Kind 'ReplicaSet' -ApiVersion 'apps/v1' -Name 'nucleus-old' -Namespace 'domino-platform' -Images "$registry/dominodatalab/nucleus:5.0"
        New-Controller -Kind 'StatefulSet' -ApiVersion 'apps/v1' -Name 'mongodb' -Namespace 'domino-platform' -Images 'quay.io/bitnami/mongodb:6.0'
        New-Controller -Kind 'DaemonSet' -ApiVersion 'apps/v1' -Name 'fluentd' -Namespace 'kube-system' -Images 'fluent/fluentd:v1.16'
        New-Controller -Kind 'ReplicationController' -ApiVersion 'v1' -Name 'legacy' -Namespace 'default' -Images "$registry/legacy/app:1"
        New-Controller -Kind 'Job' -ApiVersion 'batch/v1' -Name 'migrate' -Namespace 'domino-platform' -Images "$registry/dominodatalab/migrate:7"
        New-Controller -Kind 'CronJob' -ApiVersion 'batch/v1' -Name 'cleanup' -Namespace 'domino-platform' -Images "$registry/tools/cleanup:3"
        @{ apiVersion = 'v1'; kind = 'Service'; metadata = @{ name = 'nucleus'; namespace = 'domino-platform' }; spec = @{} }
    )
    $snapshot = Join-Path $TestDrive 'cluster.json'
    @{ apiVersion = 'v1'; kind = 'List'; items = $items } | ConvertTo-Json -Depth 20 | Set-Content $snapshot
    $images = @(Get-WorkloadImage -Path $snapshot)
    function Get-Row([string] $Image) { $images | Where-Object Image -eq $Image }
}

Describe 'Get-WorkloadImage from a kubectl snapshot' {
    It 'emits RegistryCleaner.WorkloadImage with exactly the contract properties' {
        $images.Count | Should -Be 12
        $images | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'RegistryCleaner.WorkloadImage' }
        $images[0].PSObject.Properties.Name | Should -Be @('Image', 'Registry', 'Repository', 'Tag', 'Digests', 'ObjectId',
            'Pods', 'PodCount', 'Workloads', 'Namespaces', 'WorkloadType', 'ProjectName', 'ProjectOwner')
        (Get-Command Get-WorkloadImage).OutputType.Name | Should -Be 'RegistryCleaner.WorkloadImage'
    }

    It 'merges the pods of one image and counts them' {
        $env = Get-Row "$registry/dominodatalab/environment:$envId-12"
        $env.PodCount | Should -Be 2
        $env.Pods | Should -Be @('domino-compute/run-1', 'domino-compute/run-2')
        $env.Registry | Should -Be $registry
        $env.Repository | Should -Be 'dominodatalab/environment'
        $env.Tag | Should -Be "$envId-12"
        $env.ObjectId | Should -Be $envId
        $env.Digests | Should -Contain $digest
        $env.Namespaces | Should -Be @('domino-compute')
        $env.WorkloadType | Should -Be 'Batch, Workspace'
        $env.ProjectName | Should -Be 'churn'
        $env.ProjectOwner | Should -Be 'ada'
    }

    It 'ignores images only Succeeded or Failed pods use' {
        $images.Image | Should -Not -Contain "$registry/dominodatalab/environment:$doneId-1"
        $images.Image | Should -Not -Contain "$registry/dominodatalab/environment:$doneId-2"
    }

    It 'reports init and ephemeral containers and every controller template (0 replicas, suspended)' {
        (Get-Row "$registry/dominodatalab/init:1.0").Pods | Should -Be 'domino-compute/run-1'
        (Get-Row 'busybox:1.36').Repository | Should -Be 'library/busybox'
        (Get-Row "$registry/dominodatalab/nucleus:5.1").Workloads | Should -Be 'Deployment/domino-platform/nucleus'
        (Get-Row "$registry/dominodatalab/nucleus:5.0").Workloads | Should -Be 'ReplicaSet/domino-platform/nucleus-old'
        (Get-Row 'quay.io/bitnami/mongodb:6.0').Workloads | Should -Be 'StatefulSet/domino-platform/mongodb'
        (Get-Row 'fluent/fluentd:v1.16').Workloads | Should -Be 'DaemonSet/kube-system/fluentd'
        (Get-Row "$registry/legacy/app:1").Workloads | Should -Be 'ReplicationController/default/legacy'
        (Get-Row "$registry/dominodatalab/migrate:7").Workloads | Should -Be 'Job/domino-platform/migrate'
        (Get-Row "$registry/tools/cleanup:3").Workloads | Should -Be 'CronJob/domino-platform/cleanup'
        (Get-Row "$registry/tools/cleanup:3").PodCount | Should -Be 0
    }

    It 'narrows with -Repository wildcards, matching Docker Hub short names too' {
        $found = @(Get-WorkloadImage -Path $snapshot -Repository '*/environment', 'dominodatalab/MODEL')
        $found.Repository | Sort-Object | Should -Be @('dominodatalab/environment', 'dominodatalab/model')
        (Get-WorkloadImage -Path $snapshot -Repository nginx).Image | Should -Be 'nginx'
        @(Get-WorkloadImage -Path $snapshot -Repository 'nothing/*').Count | Should -Be 0
    }

    It 'narrows with -ObjectId and -ObjectIdPath' {
        (Get-WorkloadImage -Path $snapshot -ObjectId $modelId.ToUpperInvariant()).Tag | Should -BeLike "$modelId-v1-*"
        $ids = Join-Path $TestDrive 'ids.txt'
        Set-Content $ids "# environments`n$envId"
        (Get-WorkloadImage -Path $snapshot -File $ids).Image | Should -Be "$registry/dominodatalab/environment:$envId-12"
    }

    It '-PodPrefix filters the report only' {
        $report = @(Get-WorkloadImage -Path $snapshot -PodPrefix 'model-')
        $report.Count | Should -Be 1
        $report[0].Pods | Should -Be 'domino-compute/model-1'
        $run = @(Get-WorkloadImage -Path $snapshot -PodPrefix 'run-')
        $run.Image | Should -Contain "$registry/dominodatalab/environment:$envId-12"
        $run.Image | Should -Not -Contain 'nginx'
    }

    It 'stops on an invalid ObjectId file before reading anything, naming the line' {
        $ids = Join-Path $TestDrive 'bad-ids.txt'
        Set-Content $ids "$envId`nnot-an-id"
        $err = { Get-WorkloadImage -Path (Join-Path $TestDrive 'missing.json') -ObjectIdPath $ids -ErrorAction Stop } |
            Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ObjectIdFileInvalid,*'
        $err.Exception.Message | Should -Match 'line 2'
        { Get-WorkloadImage -Path $snapshot -ObjectId 'xyz' -ErrorAction Stop } | Should -Throw -ErrorId 'ObjectIdInvalid,*'
    }

    It 'stops with WorkloadSnapshotInvalid naming a malformed file' {
        $bad = Join-Path $TestDrive 'bad.json'
        Set-Content $bad "{`n  `"kind`": `"List`",`n  `"items`": [ { `"kind`": "
        $err = { Get-WorkloadImage -Path $bad -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkloadSnapshotInvalid,*'
        $err.Exception.Message | Should -Match ([regex]::Escape($bad))
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        { Get-WorkloadImage -Path (Join-Path $TestDrive 'nope.json') -ErrorAction Stop } | Should -Throw -ErrorId 'WorkloadSnapshotNotFound,*'
    }

    It 'reads files piped from Get-ChildItem and resolves wildcards' {
        $folder = Join-Path $TestDrive 'snapshots'
        New-Item -ItemType Directory $folder -Force | Out-Null
        $podsOnly = @{ apiVersion = 'v1'; kind = 'List'; items = @($items[0], $items[1]) }
        $podsOnly | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath (Join-Path $folder 'a [pods].json')
        @{ apiVersion = 'v1'; kind = 'List'; items = @($items[6]) } | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $folder 'b.json')
        $piped = @(Get-ChildItem $folder -Filter *.json | Get-WorkloadImage)
        $piped.Image | Should -Contain "$registry/dominodatalab/nucleus:5.1"
        $piped.Image | Should -Contain "$registry/dominodatalab/model:$modelId-v1-202419163323_HfGeD8Ia"
        @(Get-WorkloadImage -Path (Join-Path $folder 'b*')).Image | Should -Be "$registry/dominodatalab/nucleus:5.1"
    }

    It 'exports to CSV with readable columns' {
        $csv = Join-Path $TestDrive 'in-use.csv'
        Get-WorkloadImage -Path $snapshot | Export-Csv $csv
        $rows = @(Import-Csv $csv)
        $rows.Count | Should -Be 12
        $env = $rows | Where-Object Image -eq "$registry/dominodatalab/environment:$envId-12"
        $env.WorkloadType | Should -Be 'Batch, Workspace'
        $env.ProjectName | Should -Be 'churn'
        $env.PodCount | Should -Be '2'
        $env.ObjectId | Should -Be $envId
        (Get-Content $csv -Raw) | Should -Not -Match 'System\.Collections\.Generic'
    }

    It 'renders the default table view' {
        $text = $images | Out-String -Width 200
        $text | Should -Match 'Image: \S+/dominodatalab/environment'
        $text | Should -Match 'Tag\s+Pods\s+Namespaces'
        $text | Should -Match 'domino-compute'
    }

    It 'writes what it read to the verbose stream' {
        $verbose = Get-WorkloadImage -Path $snapshot -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'Reading workload snapshot'
        ($verbose.Message -join "`n") | Should -Match "kind 'Service'"
    }
}

Describe 'Get-WorkloadImage against a kubeconfig' {
    BeforeAll {
        $kubeconfig = Join-Path $TestDrive 'kube config.yaml'
        @'
apiVersion: v1
kind: Config
current-context: prod-east
clusters:
- name: east
  cluster: { server: 'https://127.0.0.1:1' }
contexts:
- name: prod-east
  context: { cluster: east, user: admin, namespace: domino-compute }
- name: dev cluster
  context: { cluster: east, user: admin, namespace: team-a }
users:
- name: admin
  user: { token: not-a-real-token }
'@ | Set-Content $kubeconfig
    }

    It 'stops with KubeConfigInvalid for an unknown context before any request' {
        $err = { Get-WorkloadImage -KubeConfig $kubeconfig -Context prod-west -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'KubeConfigInvalid,*'
        $err.Exception.Message | Should -Match "'prod-west'"
        $err.Exception.Message | Should -Match 'prod-east'
    }

    It 'stops with KubeConfigInvalid for a missing kubeconfig' {
        { Get-WorkloadImage -KubeConfig (Join-Path $TestDrive 'none.yaml') -ErrorAction Stop } | Should -Throw -ErrorId 'KubeConfigInvalid,*'
    }

    It 'stops with WorkloadListFailed when the API server is unreachable' {
        $err = { Get-WorkloadImage -KubeConfig $kubeconfig -TimeoutSec 5 -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkloadListFailed,*'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.Exception.Message | Should -Match "context 'prod-east'"
    }

    It 'completes -Context from the kubeconfig, quoting names with spaces' {
        $line = "Get-WorkloadImage -KubeConfig '$kubeconfig' -Context "
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $completions.CompletionText | Should -Be @("'dev cluster'", 'prod-east')
        $line = "Get-WorkloadImage -KubeConfig '$kubeconfig' -Context pr"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'prod-east'
    }

    It 'completes -Namespace from the kubeconfig and the configured Domino namespaces' {
        Push-Location $TestDrive
        try {
            $line = "Get-WorkloadImage -KubeConfig '$kubeconfig' -Namespace "
            $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
            $completions | Should -Contain 'domino-compute'
            $completions | Should -Contain 'domino-platform'
            $completions | Should -Contain 'team-a'
        }
        finally { Pop-Location }
    }

    It 'completes nothing, and does not throw, for an unreadable kubeconfig' {
        $broken = Join-Path $TestDrive 'broken.yaml'
        Set-Content $broken "contexts: [ {"
        $line = "Get-WorkloadImage -KubeConfig '$broken' -Context "
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $completions | Where-Object ResultType -eq 'ParameterValue' | Should -BeNullOrEmpty
    }
}

Describe 'Get-WorkloadImage against a live API server' {
    # A minimal stand-in of the Kubernetes list API (plain HTTP), enough for the cmdlet's wiring: verbose, output,
    # fail-closed errors. The engine's paging, 410 and RBAC rules are covered by the xunit tests against a full stand-in.
    BeforeAll {
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        $listener.Start()
        $state = [hashtable]::Synchronized(@{ Deny = $null })
        $server = [powershell]::Create()
        $null = $server.AddScript({
            param($listener, $state)
            while ($listener.IsListening) {
                try { $context = $listener.GetContext() } catch { break }
                $resource = ($context.Request.Url.AbsolutePath -split '/')[-1]
                $items = switch ($resource) {
                    'pods' {
                        @(@{ metadata = @{ name = 'run-live'; namespace = 'domino-compute'; labels = @{ 'dominodatalab.com/project-name' = 'live' } }
                             spec = @{ containers = @(@{ name = 'run'; image = 'docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-3' }) }
                             status = @{ phase = 'Running' } })
                    }
                    'deployments' {
                        @(@{ metadata = @{ name = 'api'; namespace = 'domino-platform' }
                             spec = @{ replicas = 0; template = @{ spec = @{ containers = @(@{ name = 'api'; image = 'docker-registry:5000/dominodatalab/api:1' }) } } } })
                    }
                    default { @() }
                }
                if ($state.Deny -eq $resource) {
                    $context.Response.StatusCode = 403
                    $body = @{ kind = 'Status'; apiVersion = 'v1'; status = 'Failure'; reason = 'Forbidden'; code = 403
                               message = "$resource is forbidden: User `"scanner`" cannot list resource `"$resource`"" } | ConvertTo-Json
                }
                else {
                    $body = @{ apiVersion = 'v1'; kind = 'List'; metadata = @{ resourceVersion = '1' }; items = @($items) } | ConvertTo-Json -Depth 20
                }
                $bytes = [System.Text.Encoding]::UTF8.GetBytes($body)
                $context.Response.ContentType = 'application/json'
                $context.Response.OutputStream.Write($bytes, 0, $bytes.Length)
                $context.Response.Close()
            }
        }).AddArgument($listener).AddArgument($state)
        $handle = $server.BeginInvoke()
        $kubeconfig = Join-Path $TestDrive 'live.kubeconfig'
        @"
apiVersion: v1
kind: Config
current-context: live
clusters:
- name: live
  cluster: { server: 'http://127.0.0.1:$port' }
contexts:
- name: live
  context: { cluster: live, user: scanner }
users:
- name: scanner
  user: { token: test-token }
"@ | Set-Content $kubeconfig
    }

    AfterAll {
        $listener.Stop()
        $listener.Close()
        $null = $handle.AsyncWaitHandle.WaitOne(5000)
        $server.Dispose()
    }

    BeforeEach { $state.Deny = $null }

    It 'reads pods and controller templates and says what it lists' {
        $output = Get-WorkloadImage -KubeConfig $kubeconfig -Verbose 4>&1
        $verbose = ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match "Listing pods, .*deployments.* in all namespaces of context 'live'"
        $rows = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $rows.Image | Should -Be @('docker-registry:5000/dominodatalab/api:1', 'docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-3')
        $rows[0].PSObject.TypeNames[0] | Should -Be 'RegistryCleaner.WorkloadImage'
        $rows[1].ProjectName | Should -Be 'live'
        $rows[0].Workloads | Should -Be 'Deployment/domino-platform/api'
    }

    It 'stops with WorkloadAccessDenied naming the kind and the permission on a 403' {
        $state.Deny = 'cronjobs'
        $err = { Get-WorkloadImage -KubeConfig $kubeconfig -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkloadAccessDenied,*'
        $err.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err.Exception.Message | Should -Match 'cronjobs'
        $err.Exception.Message | Should -Match "list cronjobs.batch in all namespaces"
    }

    It 'takes contexts and namespaces from the configuration' {
        $config = Join-Path $TestDrive 'live.yaml'
        Set-Content $config "kubernetes:`n  kubeconfig: '$kubeconfig'`n  contexts: [live]`n  namespaces: [domino-compute]`n"
        $verbose = (Get-WorkloadImage -ConfigPath $config -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match "namespace\(s\) domino-compute of context 'live'"
    }
}

Describe 'Stable output order' {
    BeforeAll {
        # The sample cluster snapshot, not the one this file writes.
        $snapshot = Join-Path $PSScriptRoot '../../../samples/cluster-snapshot.json'
    }

    It 'Get-WorkloadImage emits repository, then tag' {
        $keys = @(Get-WorkloadImage -Path $snapshot | Where-Object Repository | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }
}
