# Get-RegistryLayer against a real docker-registry (tools/RegistryLab.psm1) holding Domino-like sample content:
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
}

AfterAll {
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Get-RegistryLayer' {
    BeforeAll {
        $script:layers = @(Get-RegistryLayer -Registry $url -Repository $all)
    }

    It 'emits one RegistryCleaner.RegistryLayer per distinct blob, each counted once' {
        $layers | ForEach-Object { $_.PSTypeNames[0] | Should -Be 'RegistryCleaner.RegistryLayer' }
        $layers.Count | Should -Be $sample.Blobs.Count
        ($layers | Measure-Object Size -Sum).Sum | Should -Be $sample.BlobBytes
        foreach ($layer in $layers) { $layer.Size | Should -Be $sample.Blobs[$layer.Digest] }
    }

    It 'calls image configurations Config, also Docker''s (whose media type does not say config), and shows it' {
        $configTypes = 'application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json'
        foreach ($layer in $layers) {
            $layer.Kind | Should -Be $(if ($layer.MediaType -in $configTypes) { 'Config' } else { 'Layer' })
        }
        @($layers | Where-Object { $_.Kind -eq 'Config' -and $_.MediaType -eq $configTypes[0] }).Count | Should -BeGreaterThan 0
        @($layers | Where-Object Kind -EQ 'Layer').Count | Should -BeGreaterThan 0
        ($layers | Format-Table | Out-String -Width 120) | Should -Match '\bConfig\b'
    }

    It 'names the repositories, tags and ObjectIds that need a base layer' {
        $baseDigest = ($expected["${environment}:$($sample.Environments[0].Tags[0])"]).Blobs.Keys |
            Where-Object { $d = $_; @($sample.Images | Where-Object { $_.Blobs.ContainsKey($d) }).Count -eq $sample.Images.Count } |
            Select-Object -First 1
        $base = $layers | Where-Object Digest -EQ $baseDigest
        $base.TagCount | Should -Be $sample.Images.Count
        @($base.Repositories) | Should -Be @($environment, $model)
        @($base.Tags) | Should -Contain "${environment}:latest"
        @($base.ObjectIds) | Should -Contain $sample.Models[1].Id
    }

    It 'answers the bytes unique to each tag with -UniqueBytes' {
        $owners = @{}
        foreach ($image in $sample.Images) {
            foreach ($d in $image.Blobs.Keys) {
                if (-not $owners.ContainsKey($d)) { $owners[$d] = [System.Collections.Generic.List[string]]::new() }
                $owners[$d].Add("$($image.Repository):$($image.Tag)")
            }
        }
        $split = @(Get-RegistryLayer -Registry $url -Repository $all -UniqueBytes)
        $split.Count | Should -Be $sample.Images.Count
        foreach ($row in $split) {
            $row.PSTypeNames[0] | Should -Be 'RegistryCleaner.TagBytes'
            $name = "$($row.Repository):$($row.Tag)"
            $pushed = $expected[$name]
            $unique = [long]($pushed.Blobs.Keys | Where-Object { $owners[$_].Count -eq 1 } | ForEach-Object { $pushed.Blobs[$_] } | Measure-Object -Sum).Sum
            $row.UniqueBytes | Should -Be $unique -Because $name
            $row.Size | Should -Be $pushed.Size
            $row.SharedBytes | Should -Be ($pushed.Size - $unique)
        }
        # Two tags on one digest share everything.
        ($split | Where-Object Tag -EQ 'latest').UniqueBytes | Should -Be 0
        ($split | Where-Object Tag -EQ $sample.Environments[0].Tags[-1]).UniqueBytes | Should -Be 0
        ($split | Where-Object Tag -EQ $sample.Models[0].Tags[0]).UniqueBytes | Should -BeGreaterThan 0
    }

    It 'renders the default table views' {
        ($layers | Out-String -Width 200) | Should -Match 'Digest\s+Size\s+Tags\s+Kind\s+Repositories'
        (Get-RegistryLayer -Registry $url -Repository $all -UniqueBytes | Out-String -Width 200) | Should -Match 'Tag\s+Unique\s+Size\s+Shared'
    }
}

Describe 'Stable output order' {
    It 'Get-RegistryLayer emits blobs by the first repository, then tag that needs them' {
        $keys = @(Get-RegistryLayer -Registry $url -Repository $all | ForEach-Object { "$(@($_.Repositories)[0])`t$(@($_.Tags)[0])" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }
}
