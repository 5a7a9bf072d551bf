# Get-RegistryImage against a real docker-registry (tools/RegistryLab.psm1) holding Domino-like sample content:
# environments sharing base layers, models built on them, a multi-arch OCI index, two tags on one digest.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
    $script:url = $script:lab.Url
    $script:environment = 'dominodatalab/environment'
    $script:model = 'dominodatalab/model'
    $script:all = @($script:environment, $script:model)
    $script:expected = @{}
    foreach ($image in $script:sample.Images) { $script:expected["$($image.Repository):$($image.Tag)"] = $image }
    $script:culture = [cultureinfo]::CurrentCulture
}

AfterAll {
    [cultureinfo]::CurrentCulture = $script:culture
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Get-RegistryImage' {
    BeforeAll {
        $script:images = @(Get-RegistryImage -Registry $url -Repository $all)
    }

    It 'emits one RegistryCleaner.RegistryImage per tag' {
        $images.Count | Should -Be $sample.Images.Count
        $images | ForEach-Object { $_.PSTypeNames[0] | Should -Be 'RegistryCleaner.RegistryImage' }
        ($images | ForEach-Object { "$($_.Repository):$($_.Tag)" } | Sort-Object) | Should -Be ($expected.Keys | Sort-Object)
    }

    It 'reports the pushed digest and size (config + distinct layers) of <_>' -ForEach @(
        '659c7bce85f6381e675bb205-1', '659c7bce85f6381e675bb206-2', '65a0112233445566778899aa-3', 'latest') {
        $image = $images | Where-Object Tag -EQ $_
        $pushed = $expected["${environment}:$_"]
        $image.Digest | Should -Be $pushed.Digest
        $image.Size | Should -Be $pushed.Size
        $image.Registry | Should -Be $lab.Registry
    }

    It 'reports sizes equal to what was pushed for every tag' {
        foreach ($image in $images) {
            $pushed = $expected["$($image.Repository):$($image.Tag)"]
            $image.Size | Should -Be $pushed.Size -Because "$($image.Repository):$($image.Tag)"
            $image.Digest | Should -Be $pushed.Digest
        }
    }

    It 'describes the multi-arch index with its platforms and the distinct blobs of both children' {
        $index = $images | Where-Object Tag -EQ $sample.IndexTag
        $index.MediaType | Should -Be 'application/vnd.oci.image.index.v1+json'
        @($index.Platforms) | Should -Be @('linux/amd64', 'linux/arm64')
        $index.LayerCount | Should -Be 5
        $index.ObjectId | Should -Be '65a0112233445566778899aa'
    }

    It 'reads layers, creation time and ObjectId of a model image' {
        $tag = $sample.Models[0].Tags[0]
        $image = $images | Where-Object Tag -EQ $tag
        $image.LayerCount | Should -Be 5
        @($image.Layers).Count | Should -Be 5
        $image.Created | Should -BeOfType [DateTimeOffset]
        $image.Created.UtcDateTime.ToString('yyyyMMddHHmmss') | Should -Be ($tag -split '[-_]')[2]
        $image.ObjectId | Should -Be $sample.Models[0].Id
    }

    It 'matches -Repository wildcards against the catalog' {
        $models = @(Get-RegistryImage -Registry $url -Repository 'dominodatalab/mod*')
        $models.Count | Should -Be 4
        $models.Repository | Sort-Object -Unique | Should -Be $model
    }

    It 'filters -Tag with wildcards' {
        $v2 = @(Get-RegistryImage -Registry $url -Repository 'dominodatalab/*' -Tag '*-v2-*', 'LATEST')
        ($v2.Tag | Sort-Object) | Should -Be (@($sample.Models | ForEach-Object { $_.Tags[1] }) + 'latest' | Sort-Object)
    }

    It 'reports an exactly named -Tag that does not exist, and writes the tags that do' {
        $found = @(Get-RegistryImage -Registry $url -Repository $environment -Tag latest, no-such-tag -ErrorVariable missing -ErrorAction SilentlyContinue)
        $found.Tag | Should -Be 'latest'
        $missing.Count | Should -Be 1
        $missing[0].FullyQualifiedErrorId | Should -BeLike 'RegistryTagNotFound,*'
        $missing[0].Exception.Message | Should -Match 'no-such-tag'
    }

    It 'narrows to -ObjectId tags (ID or ID-…, never a substring)' {
        $id = $sample.Environments[0].Id
        $tags = @(Get-RegistryImage -Registry $url -Repository $all -ObjectId $id.ToUpperInvariant()).Tag | Sort-Object
        $tags | Should -Be $sample.Environments[0].Tags
    }

    It 'reads ObjectIds from -ObjectIdPath (alias -File)' {
        $file = Join-Path $TestDrive 'ids.txt'
        Set-Content $file -Value @('# environments to inspect', $sample.Environments[1].Id, '', $sample.Models[1].Id)
        $tags = @(Get-RegistryImage -Registry $url -Repository $all -File $file).Tag | Sort-Object
        $tags | Should -Be (@($sample.Environments[1].Tags) + @($sample.Models[1].Tags) | Sort-Object)
    }

    It 'stops on an invalid ObjectId file naming the line, before any registry call' {
        $file = Join-Path $TestDrive 'bad.txt'
        Set-Content $file -Value @($sample.Environments[0].Id, 'not-an-object-id')
        # Port 1 answers nothing: an error about the file proves the file was checked first.
        $thrown = { Get-RegistryImage -Registry http://127.0.0.1:1 -ObjectIdPath $file } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'ObjectIdFileInvalid,*'
        $thrown.Exception.Message | Should -Match 'line 2'
    }

    It 'stops with RepositoryNotFound when a named repository does not exist' {
        $thrown = { Get-RegistryImage -Registry $url -Repository dominodatalab/nothing-here } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'RepositoryNotFound,*'
        $thrown.Exception.Message | Should -Match 'dominodatalab/nothing-here'
    }

    It 'stops quickly with RegistryUnreachable naming the registry' {
        $thrown = { Get-RegistryImage -Registry http://127.0.0.1:1 -Repository $environment -TimeoutSec 5 } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'RegistryUnreachable,*'
        $thrown.Exception.Message | Should -Match '127\.0\.0\.1:1'
    }

    It 'stops reading after Select-Object -First 1' {
        $first = @(Get-RegistryImage -Registry $url -Repository $all | Select-Object -First 1)
        $first.Count | Should -Be 1
        $first[0].PSTypeNames[0] | Should -Be 'RegistryCleaner.RegistryImage'
        # The session is still usable afterwards (the engine was cancelled, not left running).
        @(Get-RegistryImage -Registry $url -Repository $model).Count | Should -Be 4
    }

    It 'writes verbose messages per class of call' {
        $verbose = Get-RegistryImage -Registry $url -Repository 'dominodatalab/*' -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $verbose | Should -Contain "Reading the catalog of $($lab.Registry)."
        ($verbose -match '^Listing tags of 2 repositories') | Should -Not -BeNullOrEmpty
        $verbose | Should -Contain "Reading manifests of $($sample.Images.Count) tags."
    }

    It 'renders the default table view with human-readable sizes and short digests' {
        $text = Get-RegistryImage -Registry $url -Repository $environment | Out-String -Width 200
        $text | Should -Match 'Repository: dominodatalab/environment'
        $text | Should -Match 'Tag\s+Size\s+Created\s+Digest'
        $text | Should -Match '\d+\.\d KB'
        $text | Should -Match 'sha256:[0-9a-f]{12}…'
    }

    It 'exports to CSV' {
        $csv = Join-Path $TestDrive 'images.csv'
        Get-RegistryImage -Registry $url -Repository $all | Export-Csv -Path $csv
        $rows = @(Import-Csv $csv)
        $rows.Count | Should -Be $sample.Images.Count
        foreach ($row in $rows) { [long]$row.Size | Should -Be $expected["$($row.Repository):$($row.Tag)"].Size }
    }

    It 'uses the configured repositories by default' {
        $config = Join-Path $TestDrive 'config.yaml'
        Set-Content $config -Value @('registry:', "  url: $url", '  repository: dominodatalab', '  images:', '    - model')
        @(Get-RegistryImage -ConfigPath $config).Count | Should -Be 4
    }
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
}

Describe 'Stable output order' {
    It 'Get-RegistryImage emits repository, then tag' {
        $keys = @(Get-RegistryImage -Registry $url -Repository ($all[1], $all[0]) -ThrottleLimit 8 | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }
}

Describe 'Registry with basic authentication' {
    BeforeAll {
        $script:password = 'S3cret-' + [Guid]::NewGuid().ToString('n').Substring(0, 8)
        $script:right = [pscredential]::new('domino-registry', (ConvertTo-SecureString $password -AsPlainText -Force))
        $script:secured = Start-LabRegistry -Htpasswd -Credential $right
        [void](Publish-LabImage -Lab $secured -Repository dominodatalab/environment -Tag 659c7bce85f6381e675bb205-1 -Layers 1024 -Seed 5)
    }

    AfterAll {
        if ($script:secured) { Stop-LabRegistry $script:secured }
    }

    It 'reads with the right password' {
        $image = Get-RegistryImage -Registry $secured.Url -Credential $right -Repository dominodatalab/environment
        $image.Tag | Should -Be '659c7bce85f6381e675bb205-1'
    }

    It 'stops on a wrong password naming the registry, never the password' {
        $wrongPassword = 'Wr0ng-' + [Guid]::NewGuid().ToString('n').Substring(0, 8)
        $wrong = [pscredential]::new('domino-registry', (ConvertTo-SecureString $wrongPassword -AsPlainText -Force))
        $thrown = { Get-RegistryImage -Registry $secured.Url -Credential $wrong -Repository dominodatalab/environment } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'RegistryCredentialsRefused,*'
        $thrown.Exception.Message | Should -Match ([regex]::Escape($secured.Registry))
        ($thrown | Out-String) | Should -Not -Match $wrongPassword
        ($thrown | Out-String) | Should -Not -Match $password
    }
}

Describe '-Repository completion' {
    BeforeAll {
        # A repository that only the catalog knows (the configured defaults are dominodatalab/environment and model).
        [void](Publish-LabImage -Lab $lab -Repository domino-extra/probe -Tag t1 -Layers 512 -Seed 9)
    }

    It 'completes <Command> -Repository from the catalog of the typed -Registry' -ForEach @(
        @{ Command = 'Get-RegistryImage' }, @{ Command = 'Get-RegistryLayer' }) {
        $line = "$Command -Registry $url -Repository dom"
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Contain 'dominodatalab/environment'
        $completions | Should -Contain 'dominodatalab/model'
        $completions | Should -Contain 'domino-extra/probe'
    }

    It 'answers nothing (and does not throw) when the registry is unreachable' {
        $line = 'Get-RegistryImage -Registry http://127.0.0.1:1 -Repository zzz'
        $started = [Diagnostics.Stopwatch]::StartNew()
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        @($completions | Where-Object ResultType -EQ ParameterValue).Count | Should -Be 0
        $started.Elapsed.TotalSeconds | Should -BeLessThan 10
    }
}
