# Get-UnusedImage against a real docker-registry (tools/RegistryLab.psm1) holding Domino-like sample content: usage
# read back from a CSV export under de-DE, and output in repository-then-tag order.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
    $script:url = $script:lab.Url
    $script:all = @('dominodatalab/environment', 'dominodatalab/model')
    $script:snapshot = Join-Path $PSScriptRoot '../../../samples/cluster-snapshot.json'
    $script:culture = [cultureinfo]::CurrentCulture
}

AfterAll {
    [cultureinfo]::CurrentCulture = $script:culture
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'CSV, JSON and Clixml exports' {
    BeforeAll {
        [cultureinfo]::CurrentCulture = 'de-DE'
    }
    AfterAll { [cultureinfo]::CurrentCulture = $script:culture }

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
}

Describe 'Stable output order' {
    It 'Get-UnusedImage emits repository, then tag' {
        $keys = @(Get-UnusedImage -Registry $url -Repository $all -MongoUsage:$false -InUse @() | Where-Object Tag | ForEach-Object { "$($_.Repository)`t$($_.Tag)" })
        $sorted = [string[]]$keys.Clone(); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $keys | Should -Be $sorted
    }
}
