# The default views as an admin sees them: every output type rendered at 79 columns (what an 80-column console lays a
# table out in), 80 and 200, with real objects from a real docker-registry (tools/RegistryLab.psm1) holding Domino-like
# content under 45- and 51-character repository names and 51-character model tags, and, for the types a lab cannot
# produce, records built through the module's own types. Each table must show its deciding columns with unwrapped
# headers, the tag whole, no line wider than the terminal; each list view every property.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force

    # "$prefix/model" is 45 characters, "$prefix/environment" 51.
    $script:prefix = 'views-lab/domino-data-lab-production-e1'
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab -Repository $script:prefix
    $script:url = $script:lab.Url
    $script:modelRepository = "$prefix/model"
    $script:environmentRepository = "$prefix/environment"
    $script:repositories = @($environmentRepository, $modelRepository)
    $script:modelTag = $sample.Models[0].Tags[0]
    # 120 characters: whole at 200 columns next to a status and a 51-character tag.
    $script:longReason = 'No workload uses it, it is not among the 2 newest tags of its ObjectId, and no Domino record (run or workspace) pins it.'

    # Builds one of the module's own records: the public constructor with the most parameters, each parameter from the
    # hashtable by name (else its default), with the PSTypeName the cmdlet gives it.
    function New-ModuleRecord([string] $ClassName, [string] $TypeName, [hashtable] $Values) {
        $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([RegistryCleaner.PowerShell.Display].Assembly)
        $type = $context.Assemblies | ForEach-Object { $_.GetTypes() } | Where-Object { $_.IsPublic -and $_.Name -eq $ClassName } | Select-Object -First 1
        if (-not $type) { throw "No public type $ClassName in the module." }
        $constructor = $type.GetConstructors() | Sort-Object { $_.GetParameters().Count } -Descending | Select-Object -First 1
        $arguments = foreach ($parameter in $constructor.GetParameters()) {
            $name = $Values.Keys | Where-Object { $_ -eq $parameter.Name } | Select-Object -First 1
            if ($name) {
                $value = $Values[$name]
                if ($null -ne $value -and $parameter.ParameterType.IsEnum) { [Enum]::Parse($parameter.ParameterType, [string]$value) }
                elseif ($null -ne $value) { [System.Management.Automation.LanguagePrimitives]::ConvertTo($value, $parameter.ParameterType) }
                else { $null }
            }
            elseif ($parameter.HasDefaultValue) { $parameter.DefaultValue }
            elseif ($parameter.ParameterType.IsValueType) { [Activator]::CreateInstance($parameter.ParameterType) }
            else { $null }
        }
        $record = [psobject]$constructor.Invoke(@($arguments))
        $record.PSObject.TypeNames.Insert(0, $TypeName)
        $record
    }

    # Header labels of each table in a rendering: the line above each dashes line.
    function Get-TableHeader([string[]] $Lines) {
        for ($i = 1; $i -lt $Lines.Count; $i++) {
            if ($Lines[$i] -match '^-{2,}(\s+-+)*\s*$') {
                [pscustomobject]@{ Labels = @(-split $Lines[$i - 1]); Dashes = @(-split $Lines[$i]).Count; Above = $Lines[$i - 2] }
            }
        }
    }

    function Format-View($Objects, [int] $Width, [string] $View) {
        $table = if ($View) { $Objects | Format-Table -View $View } else { $Objects | Format-Table }
        @($table | Out-String -Width $Width -Stream)
    }

    $digest = 'sha256:' + ('0123456789abcdef' * 4)
    $modelId = $sample.Models[0].Id
    $script:constructed = @{
        ArchivedEnvTag           = @(New-ModuleRecord ArchivedEnvTag RegistryCleaner.ArchivedEnvTag @{
                kind = 'Model'; objectId = $modelId; environmentId = $sample.Environments[0].Id; environmentName = 'Python 3.10 GPU (CUDA 12.2) with Spark'
                registry = $lab.Registry; repository = $modelRepository; tag = $modelTag; digest = $digest; revision = 1 })
        MongoEnvRevisionDeletion = @(New-ModuleRecord MongoEnvRevisionDeletion RegistryCleaner.MongoEnvRevisionDeletion @{
                revisionId = '659c7bce85f6381e675bb2ff'; environmentId = $sample.Environments[0].Id; tag = $modelTag
                repository = $modelRepository; status = 'Skipped'; reason = $longReason })
        ImageRestore             = @(New-ModuleRecord ImageRestoreResult RegistryCleaner.ImageRestore @{
                registry = $lab.Registry; repository = $modelRepository; tag = $modelTag; digest = $digest; status = 'Restored'; reason = $longReason })
        DominoImageUsage         = @(New-ModuleRecord DominoImageReference RegistryCleaner.DominoImageUsage @{
                kind = 'ModelBuild'; source = 'model_versions'; recordId = '65a0112233445566778899ff'; recordName = 'churn-model v1'
                repository = $modelRepository; tag = $modelTag; objectId = $modelId; environmentName = 'Python 3.10'
                project = 'churn-prediction'; owner = 'alice.sanderson'; lastUsed = [DateTimeOffset]'2024-05-01T10:00:00Z'; count = 3; pins = $true })
        DominoRegistryDifference = @(New-ModuleRecord DominoRegistryDifference RegistryCleaner.DominoRegistryDifference @{
                difference = 'ImageMissing'; recordKind = 'ModelVersion'; registry = $lab.Registry; repository = $modelRepository
                tag = $modelTag; digest = $digest; objectId = $modelId; reason = $longReason })
        RegistryImageProblem     = @(New-ModuleRecord IntegrityProblem RegistryCleaner.RegistryImageProblem @{
                registry = $lab.Registry; repository = $modelRepository; tag = $modelTag; imageDigest = $digest; kind = 'Layer'
                digest = $digest; problem = 'Unreadable'; expectedSize = 2147483648L; actualSize = 1073741824L; reason = $longReason })
        RegistryIntegrity        = @(New-ModuleRecord IntegritySummary RegistryCleaner.RegistryIntegrity @{
                registry = 'docker-registry.domino-platform.svc.cluster.local:5000'; repositories = 2; images = 1200; manifests = 1300
                blobs = 9000; problems = 3; brokenImages = 1; healthy = $false; duration = [TimeSpan]::FromSeconds(12.5) })
        RegistryDeletionSetting  = @(New-ModuleRecord RegistryDeletionSetting RegistryCleaner.RegistryDeletionSetting @{
                registry = $lab.Registry; workload = 'domino-platform/docker-registry'; container = 'registry'; deleteEnabled = $true
                value = 'true'; previousValue = $null; changed = $true; reason = $longReason })
    }
}

AfterAll {
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Default table views' {
    BeforeAll {
        $snapshot = Join-Path $PSScriptRoot '../../../samples/cluster-snapshot.json'
        $script:live = [ordered]@{
            UnusedImage   = @(Get-UnusedImage -Registry $url -Repository $repositories -InUse @() -MongoUsage:$false -KeepLatest 0)
            RegistryImage = @(Get-RegistryImage -Registry $url -Repository $repositories | Sort-Object Repository, Tag)
            RegistryLayer = @(Get-RegistryLayer -Registry $url -Repository $repositories)
            TagBytes      = @(Get-RegistryLayer -Registry $url -Repository $repositories -UniqueBytes)
            WorkloadImage = @(Get-WorkloadImage -Path $snapshot)
            ConfigEntry   = @(Get-RegistryCleanerConfig)
        }
        $script:live.ImageDeletion = @(Remove-UnusedImage -Registry $url -Repository $modelRepository -Tag $sample.Models[1].Tags[0] -InUse @() -MongoUsage:$false -Confirm:$false)
        $script:all = [ordered]@{}
        foreach ($key in $live.Keys) { $all[$key] = $live[$key] }
        foreach ($key in $constructed.Keys) { $all[$key] = $constructed[$key] }

        # The deciding columns of each default table, in order: what must show at 80 columns.
        $script:deciding = @{
            UnusedImage              = @('Tag', 'Size', 'Reclaimable', 'Reason')
            ImageDeletion            = @('Status', 'Tag', 'Reclaimable', 'Reason')
            RegistryImage            = @('Tag', 'Size', 'Created', 'Digest')
            RegistryLayer            = @('Digest', 'Size', 'Tags', 'Kind', 'Repositories')
            TagBytes                 = @('Tag', 'Unique', 'Size', 'Shared')
            WorkloadImage            = @('Tag', 'Pods', 'Namespaces')
            ArchivedEnvTag           = @('Tag', 'Revision', 'Environment')
            MongoEnvRevisionDeletion = @('Status', 'Tag', 'Reason')
            ImageRestore             = @('Status', 'Tag', 'Reason')
            ConfigEntry              = @('Key', 'Source', 'Value')
            DominoImageUsage         = @('Tag', 'Kind', 'Owner')
            DominoRegistryDifference = @('Difference', 'Tag', 'Reason')
            RegistryImageProblem     = @('Tag', 'Problem', 'Kind', 'Reason')
            RegistryIntegrity        = @('Healthy', 'Images', 'Broken', 'Problems', 'Manifests', 'Blobs', 'Duration', 'Registry')
            RegistryDeletionSetting  = @('Workload', 'DeleteEnabled', 'Value', 'Was', 'Changed', 'Reason')
        }
    }

    It 'has real objects of every type with a table view (<_>)' -ForEach @('UnusedImage', 'ImageDeletion', 'RegistryImage', 'RegistryLayer', 'TagBytes', 'WorkloadImage', 'ConfigEntry') {
        $all[$_].Count | Should -BeGreaterThan 0
        $all[$_][0].PSObject.TypeNames[0] | Should -Be "RegistryCleaner.$_"
    }

    It 'renders <Type> at <Width> columns: deciding columns in order, headers unwrapped, no line too wide' -ForEach @(
        foreach ($type in 'UnusedImage', 'ImageDeletion', 'RegistryImage', 'RegistryLayer', 'TagBytes', 'WorkloadImage', 'ArchivedEnvTag',
            'MongoEnvRevisionDeletion', 'ImageRestore', 'ConfigEntry', 'DominoImageUsage', 'DominoRegistryDifference', 'RegistryImageProblem',
            'RegistryIntegrity', 'RegistryDeletionSetting') {
            foreach ($width in 79, 80, 200) { @{ Type = $type; Width = $width } }
        }) {
        $lines = Format-View $all[$Type] $Width
        $headers = @(Get-TableHeader $lines)
        $headers.Count | Should -BeGreaterThan 0
        foreach ($header in $headers) {
            $header.Labels | Should -Be $deciding[$Type] -Because "the header of $Type at $Width columns:`n$($lines -join "`n")"
            $header.Dashes | Should -Be $deciding[$Type].Count
            $header.Above | Should -Match '^\s*$|^   \w+: ' -Because 'above a header is a blank line or its group, not a wrapped header'
        }
        foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual $Width -Because "'$line'" }
    }

    It 'shows every tag whole, on its row with its size, under its whole repository at <_> columns' -ForEach 79, 200 {
        $text = (Format-View $live.UnusedImage $_) -join "`n"
        foreach ($image in $live.UnusedImage) {
            $text | Should -Match ("(?m)^   Repository: {0}$" -f [regex]::Escape($image.Repository))
            $row = @($text -split "`n" | Where-Object { $_.StartsWith($image.Tag + ' ') })
            $row.Count | Should -Be 1 -Because "$($image.Tag) must be shown whole at the start of its row"
            $row[0] | Should -Match ([regex]::Escape([RegistryCleaner.PowerShell.Display]::Bytes($image.Size)))
            $row[0] | Should -Match ([regex]::Escape([RegistryCleaner.PowerShell.Display]::Bytes($image.ReclaimableBytes)))
        }
        ($live.UnusedImage | Where-Object Tag -EQ $modelTag).Tag.Length | Should -Be 51
        ($live.UnusedImage | Where-Object Repository -EQ $modelRepository) | Should -Not -BeNullOrEmpty
        $modelRepository.Length | Should -Be 45
    }

    It 'shows a 51-character model tag whole at 79 columns in every view that has a Tag column (<_>)' -ForEach @(
        'UnusedImage', 'ImageDeletion', 'RegistryImage', 'TagBytes', 'ArchivedEnvTag', 'MongoEnvRevisionDeletion', 'ImageRestore',
        'DominoImageUsage', 'DominoRegistryDifference', 'RegistryImageProblem') {
        $objects = @($all[$_] | Where-Object { $_.Tag.Length -eq 51 })
        $objects.Count | Should -BeGreaterThan 0
        $text = (Format-View $objects 79) -join "`n"
        foreach ($object in $objects) { $text | Should -Match ([regex]::Escape($object.Tag)) }
    }

    It 'shows Get-WorkloadImage model tags whole under their image name, and the header on one line, at 79 columns' {
        $lines = Format-View $live.WorkloadImage 79
        $models = @($live.WorkloadImage | Where-Object Repository -EQ 'dominodatalab/model')
        $models.Count | Should -BeGreaterThan 0
        foreach ($image in $models) {
            @($lines | Where-Object { $_.StartsWith($image.Tag + ' ') }).Count | Should -Be 1
            $lines | Should -Contain "   Image: $($image.Registry)/$($image.Repository)"
        }
        ($lines | Where-Object { $_ -match '^Tag\s+Pods\s+Namespaces$' }).Count | Should -BeGreaterThan 0
    }

    It 'shows the whole reason at 200 columns' {
        $longReason.Length | Should -Be 120
        foreach ($type in 'ImageRestore', 'MongoEnvRevisionDeletion', 'DominoRegistryDifference', 'RegistryDeletionSetting') {
            $text = (Format-View $constructed[$type] 200) -join "`n"
            $text | Should -Match ([regex]::Escape($longReason)) -Because $type
        }
        $text = (Format-View $live.UnusedImage 200) -join "`n"
        foreach ($image in $live.UnusedImage) { $text | Should -Match ([regex]::Escape($image.Reason)) }
    }

    It 'has a Wide table with the repository and the tag whole on one row at 200 columns (<_>)' -ForEach @(
        'UnusedImage', 'ImageDeletion', 'RegistryImage', 'TagBytes', 'ArchivedEnvTag', 'MongoEnvRevisionDeletion', 'ImageRestore',
        'DominoImageUsage', 'DominoRegistryDifference', 'RegistryImageProblem') {
        $lines = Format-View $all[$_] 200 -View Wide
        foreach ($object in $all[$_]) {
            @($lines | Where-Object { $_.Contains($object.Repository) -and $_.Contains($object.Tag) }).Count | Should -BeGreaterThan 0
        }
        foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual 200 }
        @(Get-TableHeader $lines)[0].Labels | Should -Contain 'Repository'
    }
}

Describe 'In a real 80-column console' -Skip:(-not $IsLinux -or -not (Get-Command script -ErrorAction Ignore)) {
    # Out-String -Width 79 is what an 80-column console shows (it keeps the last column free), also when rows stream in:
    # here the 51-character model tags arrive half a second after the short environment tags that start the table.
    It 'lays Get-UnusedImage out as Out-String -Width 79 does, model tags whole' {
        $unused = @(Get-UnusedImage -Registry $url -Repository $repositories -InUse @() -MongoUsage:$false -KeepLatest 0 3>$null)
        $clixml = Join-Path $TestDrive 'unused.clixml'
        $unused | Export-Clixml $clixml
        $child = Join-Path $TestDrive 'console.ps1'
        Set-Content $child @"
Import-Module '$(Get-TestModulePath)'
`$PSStyle.OutputRendering = 'PlainText'
Import-Clixml '$clixml' | ForEach-Object { `$_.PSObject.TypeNames.Insert(0, 'RegistryCleaner.UnusedImage'); if (`$_.Tag.Length -eq 51) { Start-Sleep -Milliseconds 500 }; `$_ }
"@
        $process = [Environment]::ProcessPath
        $pwsh = if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { "'$process' '$(Join-Path $PSHOME 'pwsh.dll')'" } else { "'$process'" }
        $shown = @(script -qec "stty cols 80 rows 200; $pwsh -NoProfile -NonInteractive -File '$child'" /dev/null |
            ForEach-Object { $_ -replace '\r', '' -replace '\x1b\[\?1[hl]\x1b[=>]?', '' -replace '\x1b\[[0-9;?]*[A-Za-z]', '' })
        $expected = @($unused | Out-String -Width 79 -Stream)
        ($shown | Where-Object { $_.Trim() }) | Should -Be ($expected | Where-Object { $_.Trim() })
        foreach ($image in $unused) { @($shown | Where-Object { $_.StartsWith($image.Tag + ' ') }).Count | Should -Be 1 }
        ($shown | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 79
    }
}

Describe 'List views' {
    It 'shows every property of <_> with sizes in exact bytes, whole digests and UTC times' -ForEach @(
        'UnusedImage', 'ImageDeletion', 'RegistryImage', 'RegistryLayer', 'TagBytes', 'WorkloadImage', 'ArchivedEnvTag',
        'MongoEnvRevisionDeletion', 'ImageRestore', 'ConfigEntry', 'DominoImageUsage', 'DominoRegistryDifference', 'RegistryImageProblem',
        'RegistryIntegrity', 'RegistryDeletionSetting') {
        $object = $all[$_][0]
        $text = $object | Format-List | Out-String -Width 300
        # An item shown only when it says something is checked both ways in its own test below.
        $conditional = @{ ImageDeletion = @('Refusal') }[$_]
        foreach ($property in $object.PSObject.Properties.Name | Where-Object { $_ -notin $conditional }) {
            $text | Should -Match "(?m)^$property\s+:" -Because "Format-List of $_ shows $property"
        }
        foreach ($property in $object.PSObject.Properties | Where-Object { $_.Value -is [long] -and $_.Name -match 'Size$|Bytes$' }) {
            $text | Should -Match ("(?m)^{0}\s+: .*\({1} bytes\)" -f $property.Name, $property.Value)
        }
        if ($object.PSObject.Properties['Digest'] -and $object.Digest) { $text | Should -Match ([regex]::Escape($object.Digest)) }
        foreach ($property in $object.PSObject.Properties | Where-Object { $_.Value -is [DateTimeOffset] }) {
            $text | Should -Match ("(?m)^{0}\s+: {1}$" -f $property.Name, $property.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"))
        }
    }
}

Describe 'Conditional list items' {
    It 'shows the Refusal of an image deletion only when the registry refused for a reason scripts tell apart' {
        $object = $all['ImageDeletion'][0]
        "$($object.Refusal)" | Should -Be 'None'
        $object | Format-List | Out-String -Width 300 | Should -Not -Match '(?m)^Refusal\s+:'

        # The same row as a lock refusal (the property is init-only, so the copy is set through reflection).
        $record = $object.PSObject.BaseObject
        $locked = $record.GetType().GetMethod('<Clone>$').Invoke($record, @())
        $record.GetType().GetProperty('Refusal').SetValue($locked, [Enum]::Parse($record.Refusal.GetType(), 'Locked'))
        $shown = [psobject]$locked
        $shown.PSObject.TypeNames.Insert(0, $object.PSObject.TypeNames[0])
        $shown | Format-List | Out-String -Width 300 | Should -Match '(?m)^Refusal\s+: Locked$'
    }
}

Describe 'Display' {
    It 'formats bytes in at most 8 characters, invariant, moving up a unit from 1000 on' {
        [RegistryCleaner.PowerShell.Display]::Bytes(999) | Should -Be '999 B'
        [RegistryCleaner.PowerShell.Display]::Bytes(1000) | Should -Be '1.0 KB'
        [RegistryCleaner.PowerShell.Display]::Bytes(1023.95 * 1MB) | Should -Be '1.0 GB'
        [RegistryCleaner.PowerShell.Display]::Bytes(999.9 * 1MB) | Should -Be '999.9 MB'
        [RegistryCleaner.PowerShell.Display]::Bytes(2.5GB) | Should -Be '2.5 GB'
        [RegistryCleaner.PowerShell.Display]::Bytes($null) | Should -Be ''
        foreach ($n in 0, 1, 1023, 1048575, 1073217536, [long]::MaxValue) { [RegistryCleaner.PowerShell.Display]::Bytes($n).Length | Should -BeLessOrEqual 8 }
        [RegistryCleaner.PowerShell.Display]::ExactBytes(2048) | Should -Be '2.0 KB (2048 bytes)'
    }

    It 'shortens digests and leaves anything else whole' {
        [RegistryCleaner.PowerShell.Display]::ShortDigest('sha256:' + ('ab' * 32)) | Should -Be ('sha256:' + ('ab' * 6) + [char]0x2026)
        [RegistryCleaner.PowerShell.Display]::ShortDigest('not-a-digest') | Should -Be 'not-a-digest'
        [RegistryCleaner.PowerShell.Display]::ShortDigest($null) | Should -Be ''
    }

    It 'writes times in UTC and joins lists' {
        $time = [DateTimeOffset]'2024-05-01T12:00:00+02:00'
        [RegistryCleaner.PowerShell.Display]::Utc($time) | Should -Be '2024-05-01 10:00'
        [RegistryCleaner.PowerShell.Display]::Day($time) | Should -Be '2024-05-01'
        [RegistryCleaner.PowerShell.Display]::Iso($time) | Should -Be '2024-05-01T10:00:00Z'
        [RegistryCleaner.PowerShell.Display]::Join(@('a', 'b')) | Should -Be 'a, b'
        [RegistryCleaner.PowerShell.Display]::Join([Collections.Generic.List[string]]@('a')) | Should -Be 'a'
    }

    It 'is what every view calls: no script block formats bytes or digests itself' {
        $format = Get-Content (Join-Path $env:REGISTRYCLEANER_MODULE_PATH 'RegistryCleaner.Format.ps1xml') -Raw
        $format | Should -Not -Match "'KB'|0x2026|\[0-9a-f\]\{12\}"
        ([regex]::Matches($format, 'Display\]::Bytes\(')).Count | Should -BeGreaterThan 10
    }
}
