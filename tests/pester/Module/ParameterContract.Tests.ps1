# The parameter contract: a parameter name means one thing across the module. Every exported cmdlet's parameters that
# share a name have the same type, the same validation (attributes and their arguments), the same completer and the
# same help text, unless the difference is listed below with its reason. A listed difference that no longer exists
# fails too, so the list only ever shrinks.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    # Each aspect of a parameter, as PowerShell sees it; a difference is a parameter name with more than one value.
    $script:Exceptions = @{
        Type       = [ordered]@{
            Context    = 'Maintenance cmdlets act on one StatefulSet in one context (String); usage readers merge several contexts (String[]).'
            Namespace  = 'Maintenance cmdlets act on one StatefulSet in one namespace (String); usage readers read several namespaces (String[]).'
            Repository = 'Find-ArchivedEnvTag and Remove-MongoEnvRevision name one repository (String); the others take several (String[]).'
            Tag        = 'Test-RegistryImage checks one piped tag at a time (String); the others take several (String[]).'
            Digest     = 'Test-RegistryImage checks one piped image (String); Remove-UnusedImage takes several typed digests (String[]).'
            Path       = 'A different file on each cmdlet: the report to write, the snapshots to read (String[]), the revision list to read.'
            InputObject = 'Export-RegistryReport takes arrays of report input (PSObject[]); Remove-UnusedImage one piped object to refuse or not.'
        }
        Validation = [ordered]@{
            Repository = 'Piped by property name (Remove-UnusedImage, Test-RegistryImage, Remove-MongoEnvRevision), an empty value gets the cmdlet''s own error per item; Get-WorkloadImage and Remove-MongoEnvRevision match names that carry a registry host.'
            Tag        = 'Piped by property name (Remove-UnusedImage, Test-RegistryImage), an untagged image pipes an empty Tag that the cmdlet handles; Domino revision tags (Remove-MongoEnvRevision) are Domino''s, not checked against the registry grammar.'
            Path       = 'Get-WorkloadImage reads snapshot files by wildcard; the other paths name one file.'
            InputObject = 'Export-RegistryReport skips $null among its piped input; Remove-UnusedImage binds one object.'
        }
        Completer  = [ordered]@{}
        Help       = [ordered]@{
            Repository  = 'What the repositories select is the cmdlet''s own subject (images to read, plan, delete, restore, check).'
            Tag         = 'What the tags select is the cmdlet''s own subject.'
            Digest      = 'What the digests select is the cmdlet''s own subject.'
            ObjectId    = 'What the ObjectIds narrow is the cmdlet''s own subject (tags, references, differences, archived records).'
            ObjectIdPath = 'What the ObjectIds narrow is the cmdlet''s own subject; the planning cmdlets also refuse a file that lists none.'
            Path        = 'A different file on each cmdlet.'
            InputObject = 'Different piped objects on each cmdlet.'
            InUse       = 'Get-UnusedImage also takes usage from the pipeline, Export-RegistryReport takes it piped with other input, Remove-UnusedImage never.'
            JournalPath = 'Remove-UnusedImage writes the journal, Restore-RegistryImage reads it.'
            BackupPath  = 'A different backup on each cmdlet: an OCI layout written or read, or the MongoDB documents written.'
            Force       = 'Export-RegistryReport overwrites its file; on the other cmdlets it is accepted for old scripts and lifts nothing.'
            Context     = 'One context of the registry''s StatefulSet, or the contexts whose usage is read.'
            Namespace   = 'One namespace of the registry''s StatefulSet, or the namespaces whose usage is read.'
            Credential  = 'Each cmdlet says which registry permission it needs (pull, push, delete).'
            ThrottleLimit = 'Each cmdlet says which requests run concurrently (registry reads, digest lookups, Kubernetes listings, verification).'
            TimeoutSec  = 'Each cmdlet says which services its requests go to (registry, Kubernetes, MongoDB) and what a timeout stops.'
            MongoUsage  = 'The planning cmdlets protect the images Domino''s records pin; Get-RegistryImage only names their owners.'
            UnusedSince = 'Recent runs protect an image (planning), keep a revision (Remove-MongoEnvRevision) or are listed (Get-DominoImageUsage).'
        }
    }
    $commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters +
        [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

    function Get-AttributeText {
        # An attribute with its public arguments, e.g. ValidateRange(MaxRange=86400, MinRange=1, ...).
        param([Attribute] $Attribute)
        $arguments = $Attribute.GetType().GetProperties() | Where-Object { $_.Name -notin 'TypeId' } | Sort-Object Name | ForEach-Object {
            $value = $_.GetValue($Attribute)
            "$($_.Name)=$(if ($value -is [Collections.IEnumerable] -and $value -isnot [string]) { @($value) -join ',' } else { $value })"
        }
        '{0}({1})' -f ($Attribute.GetType().Name -replace 'Attribute$'), ($arguments -join ', ')
    }

    $script:Rows = foreach ($command in Get-Command -Module RegistryCleaner -CommandType Cmdlet) {
        $help = Get-Help $command.Name -Full
        foreach ($parameter in $command.Parameters.Values | Where-Object Name -NotIn $commonParameters) {
            $attributes = $parameter.Attributes
            [pscustomobject]@{
                Name       = $parameter.Name
                Cmdlet     = $command.Name
                Type       = $parameter.ParameterType.FullName
                Validation = @($attributes | Where-Object {
                        $_ -is [System.Management.Automation.ValidateArgumentsAttribute] -or
                        $_ -is [System.Management.Automation.ArgumentTransformationAttribute] -or
                        $_ -is [System.Management.Automation.AllowNullAttribute] -or
                        $_ -is [System.Management.Automation.AllowEmptyStringAttribute] -or
                        $_ -is [System.Management.Automation.AllowEmptyCollectionAttribute] -or
                        $_ -is [System.Management.Automation.SupportsWildcardsAttribute]
                    } | ForEach-Object { Get-AttributeText $_ } | Sort-Object) -join '; '
                Completer  = @($attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] -or $_.GetType().Name -eq 'ArgumentCompletionsAttribute' } |
                    ForEach-Object { if ($_.Type) { $_.Type.FullName } elseif ($_.ScriptBlock) { "$($_.ScriptBlock)" } else { Get-AttributeText $_ } } | Sort-Object) -join '; '
                Help       = ((($help.Parameters.Parameter | Where-Object Name -EQ $parameter.Name).Description | Out-String) -replace '\s+', ' ').Trim()
            }
        }
    }
    $script:Shared = $script:Rows | Group-Object Name | Where-Object Count -GT 1

    function Get-Difference {
        # The values one aspect of a shared parameter takes, with the cmdlets that give each; empty when they agree.
        param([string] $Aspect, [string] $Name)
        $group = $script:Shared | Where-Object Name -EQ $Name
        $values = $group.Group | Group-Object $Aspect
        if (@($values).Count -le 1) { return @() }
        $values | ForEach-Object { "  [$(($_.Group.Cmdlet | Sort-Object) -join ', ')]: $($_.Name)" }
    }
}

Describe 'Parameters with the same name' {
    It 'are shared by more than one cmdlet (the contract has something to check)' {
        @($script:Shared).Count | Should -BeGreaterThan 20
        ($script:Shared | Where-Object Name -EQ 'TimeoutSec').Count | Should -BeGreaterThan 10
    }

    It 'agree on <_> unless the difference is listed with a reason' -ForEach @('Type', 'Validation', 'Completer', 'Help') {
        $aspect = $_
        $listed = $script:Exceptions[$aspect]
        $unlisted = foreach ($group in $script:Shared | Where-Object { -not $listed.Contains($_.Name) }) {
            $difference = Get-Difference $aspect $group.Name
            if ($difference) { "-$($group.Name):`n$($difference -join "`n")" }
        }
        $unlisted | Should -BeNullOrEmpty -Because "a parameter name means one thing across the module; make these agree (or list the difference with its reason)"
    }

    It 'still differ on <_> where a difference is listed (the list only shrinks)' -ForEach @('Type', 'Validation', 'Completer', 'Help') {
        $aspect = $_
        $stale = foreach ($name in $script:Exceptions[$aspect].Keys) {
            if (-not (Get-Difference $aspect $name)) { "-$name" }
        }
        $stale | Should -BeNullOrEmpty -Because "these now agree on $aspect, so their exception must go"
    }
}
