# What admins export and complete: CSV keeps lists (a;b;c) and dates (ISO 8601 UTC) whatever the culture, JSON and
# Clixml keep lists, outputs come in repository-then-tag order, and every parameter naming a repository, tag, context,
# namespace or configuration key completes (against the real registry of tools/RegistryLab.psm1).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    $script:withRepository = @(Get-Command -Module RegistryCleaner | Where-Object { $_.Parameters.ContainsKey('Repository') } | ForEach-Object { @{ Command = $_.Name } })
    $script:withTag = @(Get-Command -Module RegistryCleaner | Where-Object { $_.Parameters.ContainsKey('Tag') } | ForEach-Object { @{ Command = $_.Name } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
    $script:url = $script:lab.Url
    $script:all = @('dominodatalab/environment', 'dominodatalab/model')
    $script:snapshot = Join-Path $PSScriptRoot '../../samples/cluster-snapshot.json'
    $script:config = Join-Path $TestDrive 'config.yaml'
    Set-Content $script:config -Value @('registry:', "  url: $($script:url)", '  repository: dominodatalab', '  images:', '    - environment', '    - model')
    $script:kubeconfig = Join-Path $TestDrive 'kubeconfig.yaml'
    Set-Content $script:kubeconfig -Value @(
        'apiVersion: v1', 'kind: Config', 'current-context: prod-east',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: prod-east, context: {cluster: c, user: u, namespace: team-a}}]')
    $script:culture = [cultureinfo]::CurrentCulture
    function script:Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }
}

AfterAll {
    [cultureinfo]::CurrentCulture = $script:culture
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'CSV, JSON and Clixml exports' {
    BeforeAll {
        [cultureinfo]::CurrentCulture = 'de-DE'
        $script:images = @(Get-RegistryImage -Registry $url -Repository $all)
        $script:csv = Join-Path $TestDrive 'images.csv'
        $images | Export-Csv $csv
        $script:rows = @(Import-Csv $csv)
    }
    AfterAll { [cultureinfo]::CurrentCulture = $script:culture }

    It 'writes Layers and Platforms as a;b;c, and Created as ISO 8601 UTC under de-DE' {
        $text = Get-Content $csv -Raw
        $text | Should -Not -Match 'System\.'
        $index = $rows | Where-Object Tag -EQ $sample.IndexTag
        $index.Platforms | Should -Be 'linux/amd64;linux/arm64'
        foreach ($row in $rows) {
            $image = $images | Where-Object { $_.Repository -eq $row.Repository -and $_.Tag -eq $row.Tag }
            $row.Layers | Should -Be ($image.Layers -join ';')
            if ($image.Created) {
                $row.Created | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$'
                [DateTimeOffset]::Parse($row.Created, [cultureinfo]::InvariantCulture) | Should -Be $image.Created
            }
        }
    }

    It 'keeps lists and dates typed in the pipeline, JSON and Clixml' {
        $image = $images | Where-Object Tag -EQ $sample.IndexTag
        $image.Platforms.Count | Should -Be 2
        $image.Platforms | Should -Contain 'linux/arm64'
        @($images | Where-Object Created -lt (Get-Date).AddYears(50)).Count | Should -Be @($images | Where-Object Created).Count
        @($images | Where-Object Created -gt (Get-Date).AddYears(50)).Count | Should -Be 0
        ([DateTimeOffset]$image.Created).Year | Should -BeGreaterThan 2000
        $image.Created.ToString('yyyy-MM-dd') | Should -Be ([DateTimeOffset]$image.Created).ToString('yyyy-MM-dd')
        "$($image.Created.AddDays(1).UtcDateTime.ToString('o'))" | Should -Be ([DateTimeOffset]$image.Created).AddDays(1).UtcDateTime.ToString('o')
        $image.Created.ToString() | Should -Be ([DateTimeOffset]$image.Created).UtcDateTime.ToString('o', [cultureinfo]::InvariantCulture)
        @($images | Sort-Object Created | ForEach-Object { [DateTimeOffset]$_.Created }) | Should -Be @($images | ForEach-Object { [DateTimeOffset]$_.Created } | Sort-Object)
        $json = $image | ConvertTo-Json -Depth 3 | ConvertFrom-Json
        @($json.Platforms) | Should -Be @('linux/amd64', 'linux/arm64')
        $xml = Join-Path $TestDrive 'images.xml'
        $images | Export-Clixml $xml
        $back = Import-Clixml $xml | Where-Object Tag -EQ $sample.IndexTag
        @($back.Platforms) | Should -Be @('linux/amd64', 'linux/arm64')
        @($back.Layers).Count | Should -Be $image.Layers.Count
    }

    It 'feeds Get-WorkloadImage CSV back to -InUse with the digests it protects' {
        $inUse = Join-Path $TestDrive 'in-use.csv'
        Get-WorkloadImage -Path $snapshot | Export-Csv $inUse
        $workloads = @(Get-WorkloadImage -Path $snapshot)
        $rows = @(Import-Csv $inUse)
        $withDigests = $workloads | Where-Object { $_.Digests.Count -gt 1 } | Select-Object -First 1
        if ($withDigests) { ($rows | Where-Object Image -EQ $withDigests.Image).Digests | Should -Be ($withDigests.Digests -join ';') }
        $plannedFromCsv = @(Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse $rows)
        $planned = @(Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse $workloads)
        ($plannedFromCsv | ForEach-Object { "$($_.Repository):$($_.Tag)@$($_.Digest)" }) | Should -Be ($planned | ForEach-Object { "$($_.Repository):$($_.Tag)@$($_.Digest)" })
    }

    It 'refuses a CSV whose Digests an older export flattened, saying what to do' {
        $old = [pscustomobject]@{ Image = "$($lab.Registry)/dominodatalab/environment:x"; Digests = 'System.String[]' }
        { Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse $old -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*Export Get-WorkloadImage to CSV again*'
    }

    It 'round-trips Get-UnusedImage through Export-Csv and Import-Csv to Remove-UnusedImage -WhatIf on the same images' {
        $planned = @(Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse @())
        $planned.Count | Should -BeGreaterThan 0
        $csv = Join-Path $TestDrive 'unused.csv'
        $planned | Export-Csv $csv
        $rows = @(Import-Csv $csv)
        ($rows | ForEach-Object { "$($_.Repository):$($_.Tag)@$($_.Digest)" }) | Should -Be ($planned | ForEach-Object { "$($_.Repository):$($_.Tag)@$($_.Digest)" })
        # -WhatIf writes its targets to the host only: compare what a transcript caught.
        function WhatIfTargets([scriptblock] $run) {
            $log = Join-Path $TestDrive "whatif-$([guid]::NewGuid()).txt"
            Start-Transcript -LiteralPath $log | Out-Null
            try { & $run | Out-Null } finally { Stop-Transcript | Out-Null }
            @(Get-Content $log | Where-Object { $_ -like 'What if: Performing*' })
        }
        $direct = WhatIfTargets { $planned | Remove-UnusedImage -Registry $url -MongoUsage:$false -InUse @() -WhatIf -WarningAction SilentlyContinue }
        $fromCsv = WhatIfTargets { $rows | Remove-UnusedImage -Registry $url -MongoUsage:$false -InUse @() -WhatIf -WarningAction SilentlyContinue }
        $direct.Count | Should -BeGreaterThan 0
        $fromCsv | Should -Be $direct
        @(Get-RegistryImage -Registry $url -Repository $all).Count | Should -Be $sample.Images.Count
    }
}

Describe 'Stable output order' {
    It 'Get-RegistryImage emits repository, then tag' {
        $keys = @(Get-RegistryImage -Registry $url -Repository ($all[1], $all[0]) -ThrottleLimit 8 | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }

    It 'Get-UnusedImage emits repository, then tag' {
        $keys = @(Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse @() | Where-Object Tag | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }

    It 'Get-WorkloadImage emits repository, then tag' {
        $keys = @(Get-WorkloadImage -Path $snapshot | Where-Object Repository | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }

    It 'Get-RegistryLayer emits blobs by the first repository, then tag that needs them' {
        $keys = @(Get-RegistryLayer -Registry $url -Repository $all | ForEach-Object { "$(@($_.Repositories)[0])`t$(@($_.Tags)[0])" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }
}

Describe 'Completion' {
    It 'puts a completer on every -Repository, -Tag, -Context, -Namespace and -Key of every cmdlet' {
        $checked = foreach ($command in Get-Command -Module RegistryCleaner) {
            foreach ($parameter in $command.Parameters.Values | Where-Object Name -In 'Repository', 'Tag', 'Context', 'Namespace', 'Key') {
                $has = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] }).Count -gt 0
                [pscustomobject]@{ Name = "$($command.Name) -$($parameter.Name)"; Has = $has }
            }
        }
        $checked.Count | Should -BeGreaterThan 25
        @($checked | Where-Object { -not $_.Has }).Name | Should -BeNullOrEmpty
    }

    It 'completes <Command> -Repository from the registry' -ForEach $withRepository {
        $completions = (Complete "$Command -ConfigPath '$config' -Repository dominodatalab/e").CompletionText
        $completions | Should -Contain 'dominodatalab/environment'
        $completions | Should -Not -Contain 'dominodatalab/model'
    }

    It 'completes <Command> -Tag from the tags of the typed -Repository' -ForEach $withTag {
        $completions = (Complete "$Command -ConfigPath '$config' -Repository dominodatalab/environment -Tag 659c7bce85f6381e675bb205").CompletionText
        $completions | Should -Contain '659c7bce85f6381e675bb205-1'
        $completions | ForEach-Object { $_ | Should -BeLike '659c7bce85f6381e675bb205*' }
    }

    It 'completes -Tag from the configured repositories when none is typed, and nothing (not file names) without a registry' {
        (Complete "Get-RegistryImage -ConfigPath '$config' -Tag 659c7bce85f6381e675bb205-").CompletionText | Should -Contain '659c7bce85f6381e675bb205-1'
        Push-Location $TestDrive
        try {
            New-Item -ItemType File (Join-Path $TestDrive 'zz-file.txt') -Force | Out-Null
            @(Complete 'Get-UnusedImage -Registry http://127.0.0.1:1 -Repository dominodatalab/environment -Tag ').Count | Should -Be 0
            @(Complete 'Remove-UnusedImage -Registry http://127.0.0.1:1 -Tag zz').Count | Should -Be 0
        }
        finally { Pop-Location }
    }

    It 'completes <Command> -Context and -Namespace from the kubeconfig' -ForEach @(
        @{ Command = 'Get-UnusedImage' }, @{ Command = 'Remove-UnusedImage' }) {
        (Complete "$Command -KubeConfig '$kubeconfig' -Context pr").CompletionText | Should -Be 'prod-east'
        (Complete "$Command -KubeConfig '$kubeconfig' -Namespace team").CompletionText | Should -Be 'team-a'
    }
}
