# Remove-UnusedImage against a real docker-registry (tools/RegistryLab.psm1) holding Domino-like sample content: rows
# of Get-UnusedImage read back from a CSV export under de-DE select exactly the images the objects themselves select.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
    $script:url = $script:lab.Url
    $script:all = @('dominodatalab/environment', 'dominodatalab/model')
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
