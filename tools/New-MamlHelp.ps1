#Requires -Version 7.4
<#
.SYNOPSIS
    Turns the cmdlet help sources (module/help/<Cmdlet>.md) into the MAML file PowerShell's Get-Help reads.

.DESCRIPTION
    platyPS is not available to this build, so this is the small generator it would be. The text (synopsis,
    description, examples, parameter descriptions, notes, links) comes from the Markdown files; the syntax (parameter
    sets, types, positions, mandatory, pipeline input, aliases, wildcards) comes from the built cmdlets themselves, so
    the two can never disagree. Run by build.ps1 in a child pwsh that imports the built module.

    Markdown layout (one file per cmdlet):
        # Verb-Noun
        ## SYNOPSIS / ## DESCRIPTION / ## EXAMPLES (### title, a ```powershell fence, then remarks)
        ## PARAMETERS (### -Name, then its description) / ## INPUTS / ## OUTPUTS / ## NOTES / ## RELATED LINKS
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $SourcePath,
    [Parameter(Mandatory)][string] $OutputPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters +
    [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Split-Sections {
    # Splits Markdown into { heading -> lines } at one heading level.
    param([string[]] $Lines, [string] $Marker)
    $sections = [ordered]@{}
    $current = $null
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line.StartsWith("$Marker ")) {
            $current = $line.Substring($Marker.Length + 1).Trim()
            $sections[$current] = [System.Collections.Generic.List[string]]::new()
            continue
        }
        if ($null -ne $current) { $sections[$current].Add($line) }
    }
    $sections
}

function Get-Paragraphs {
    # Blank-line-separated paragraphs, each joined into one line; list items and indented lines keep their breaks.
    param([string[]] $Lines)
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $buffer = [System.Collections.Generic.List[string]]::new()
    foreach ($line in @($Lines) + '') {
        if ($line.Trim() -eq '') {
            if ($buffer.Count) { $paragraphs.Add(($buffer -join "`n")); $buffer.Clear() }
            continue
        }
        # A line joins the paragraph (or list item) above it unless it starts a new list item.
        if ($buffer.Count -and -not ($line -match '^\s*([-*]|\d+\.)\s')) {
            $buffer[$buffer.Count - 1] += ' ' + $line.Trim()
        }
        else {
            $buffer.Add($line.TrimEnd())
        }
    }
    $paragraphs
}

function Add-Paragraphs {
    param([System.Xml.XmlWriter] $Writer, [string[]] $Paragraphs)
    if (-not $Paragraphs) { $Writer.WriteElementString('maml', 'para', $maml, ''); return }
    foreach ($paragraph in $Paragraphs) { $Writer.WriteElementString('maml', 'para', $maml, $paragraph) }
}

function Get-TypeName {
    param([type] $Type)
    if ($Type.IsArray) { return (Get-TypeName $Type.GetElementType()) + '[]' }
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { return Get-TypeName $Type.GetGenericArguments()[0] }
    $Type.Name
}

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

Import-Module (Join-Path $ModulePath 'RegistryCleaner.psd1') -Force
$cmdlets = Get-Command -Module RegistryCleaner -CommandType Cmdlet | Sort-Object Name
$problems = [System.Collections.Generic.List[string]]::new()

New-Item -ItemType Directory -Path (Split-Path $OutputPath) -Force | Out-Null
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$writer = [System.Xml.XmlWriter]::Create($OutputPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')

    foreach ($cmdlet in $cmdlets) {
        $source = Join-Path $SourcePath "$($cmdlet.Name).md"
        if (-not (Test-Path $source)) { $problems.Add("$($cmdlet.Name): no help source at $source"); continue }
        $sections = Split-Sections -Lines (Get-Content -LiteralPath $source) -Marker '##'
        $text = { param($name) if ($sections.Contains($name)) { @(Get-Paragraphs $sections[$name]) } else { @() } }
        $parameterText = if ($sections.Contains('PARAMETERS')) { Split-Sections -Lines $sections['PARAMETERS'] -Marker '###' } else { @{} }

        $writer.WriteStartElement('command', 'command', $command)
        $writer.WriteAttributeString('xmlns', 'maml', $null, $maml)
        $writer.WriteAttributeString('xmlns', 'dev', $null, $dev)

        $writer.WriteStartElement('command', 'details', $command)
        $writer.WriteElementString('command', 'name', $command, $cmdlet.Name)
        $writer.WriteElementString('command', 'verb', $command, $cmdlet.Verb)
        $writer.WriteElementString('command', 'noun', $command, $cmdlet.Noun)
        $writer.WriteStartElement('maml', 'description', $maml)
        Add-Paragraphs $writer (& $text 'SYNOPSIS')
        $writer.WriteEndElement()
        $writer.WriteEndElement()

        $writer.WriteStartElement('maml', 'description', $maml)
        Add-Paragraphs $writer (& $text 'DESCRIPTION')
        $writer.WriteEndElement()

        # A parameter hidden from users (DontShow, e.g. a guard that only inspects piped objects) has no help.
        $parameters = $cmdlet.Parameters.Values | Where-Object Name -notin $commonParameters |
            Where-Object { -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) }
        $describe = {
            param($parameter, $set)
            # A parameter of every set is listed under __AllParameterSets, not under the set's own name.
            $attribute = if ($set -and $parameter.ParameterSets.ContainsKey($set)) { $parameter.ParameterSets[$set] }
                elseif ($set -and $parameter.ParameterSets.ContainsKey('__AllParameterSets')) { $parameter.ParameterSets['__AllParameterSets'] }
                else { $parameter.ParameterSets.Values | Select-Object -First 1 }
            $pipeline = @()
            if ($parameter.ParameterSets.Values.ValueFromPipeline -contains $true) { $pipeline += 'ByValue' }
            if ($parameter.ParameterSets.Values.ValueFromPipelineByPropertyName -contains $true) { $pipeline += 'ByPropertyName' }
            $isSwitch = $parameter.ParameterType -eq [switch]
            $writer.WriteStartElement('command', 'parameter', $command)
            $writer.WriteAttributeString('required', "$($attribute.IsMandatory)".ToLowerInvariant())
            $writer.WriteAttributeString('variableLength', "$($parameter.ParameterType.IsArray)".ToLowerInvariant())
            $writer.WriteAttributeString('globbing', "$([bool]($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
            $writer.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
            $writer.WriteAttributeString('position', $(if ($attribute.Position -ge 0) { "$($attribute.Position)" } else { 'named' }))
            $writer.WriteAttributeString('aliases', $(if ($parameter.Aliases.Count) { $parameter.Aliases -join ', ' } else { 'none' }))
            $writer.WriteElementString('maml', 'name', $maml, $parameter.Name)
            $writer.WriteStartElement('maml', 'description', $maml)
            $key = "-$($parameter.Name)"
            $paragraphs = if ($parameterText.Contains($key)) { @(Get-Paragraphs $parameterText[$key]) } else { @() }
            Add-Paragraphs $writer $paragraphs
            $writer.WriteEndElement()
            if (-not $isSwitch) {
                $writer.WriteStartElement('command', 'parameterValue', $command)
                $writer.WriteAttributeString('required', 'true')
                $writer.WriteAttributeString('variableLength', "$($parameter.ParameterType.IsArray)".ToLowerInvariant())
                $writer.WriteString((Get-TypeName $parameter.ParameterType))
                $writer.WriteEndElement()
            }
            $writer.WriteStartElement('dev', 'type', $dev)
            $writer.WriteElementString('maml', 'name', $maml, (Get-TypeName $parameter.ParameterType))
            $writer.WriteEndElement()
            # "Default value" in Get-Help shows what the description states ("Default: analysis.timeout (300)."), so it
            # never says None beside a description that names a default; a sentence ends at a period before a capital.
            $stated = ($paragraphs -join ' ') | Select-String -Pattern 'Default:\s+(?<value>.+?)\.(?=\s+[A-Z(]|\s*$)' |
                Select-Object -First 1
            $default = if ($stated) { $stated.Matches[0].Groups['value'].Value } elseif ($isSwitch) { 'False' } else { 'None' }
            $writer.WriteElementString('dev', 'defaultValue', $dev, $default)
            $writer.WriteEndElement()
        }

        $writer.WriteStartElement('command', 'syntax', $command)
        foreach ($set in $cmdlet.ParameterSets) {
            $writer.WriteStartElement('command', 'syntaxItem', $command)
            $writer.WriteElementString('maml', 'name', $maml, $cmdlet.Name)
            foreach ($parameter in $set.Parameters | Where-Object Name -notin $commonParameters) {
                & $describe $cmdlet.Parameters[$parameter.Name] $set.Name
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'parameters', $command)
        foreach ($parameter in $parameters) {
            if (-not $parameterText.Contains("-$($parameter.Name)")) { $problems.Add("$($cmdlet.Name): parameter -$($parameter.Name) has no description") }
            & $describe $parameter $null
        }
        $writer.WriteEndElement()

        foreach ($kind in @(@('INPUTS', 'inputTypes', 'inputType'), @('OUTPUTS', 'returnValues', 'returnValue'))) {
            $writer.WriteStartElement('command', $kind[1], $command)
            $entries = if ($sections.Contains($kind[0])) { Split-Sections -Lines $sections[$kind[0]] -Marker '###' } else { @{} }
            foreach ($entry in $entries.GetEnumerator()) {
                $writer.WriteStartElement('command', $kind[2], $command)
                $writer.WriteStartElement('dev', 'type', $dev)
                $writer.WriteElementString('maml', 'name', $maml, $entry.Key)
                $writer.WriteEndElement()
                $writer.WriteStartElement('maml', 'description', $maml)
                Add-Paragraphs $writer @(Get-Paragraphs $entry.Value)
                $writer.WriteEndElement()
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()
        }

        $writer.WriteStartElement('maml', 'alertSet', $maml)
        $writer.WriteStartElement('maml', 'alert', $maml)
        Add-Paragraphs $writer (& $text 'NOTES')
        $writer.WriteEndElement()
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'examples', $command)
        $examples = if ($sections.Contains('EXAMPLES')) { Split-Sections -Lines $sections['EXAMPLES'] -Marker '###' } else { @{} }
        if ($examples.Count -lt 2) { $problems.Add("$($cmdlet.Name): needs at least two examples, has $($examples.Count)") }
        foreach ($example in $examples.GetEnumerator()) {
            $code = [System.Collections.Generic.List[string]]::new()
            $remarks = [System.Collections.Generic.List[string]]::new()
            $state = 'before'
            foreach ($line in $example.Value) {
                if ($line -match '^```') { $state = if ($state -eq 'before') { 'code' } else { 'after' }; continue }
                if ($state -eq 'code') { $code.Add($line) } elseif ($state -eq 'after') { $remarks.Add($line) }
            }
            $writer.WriteStartElement('command', 'example', $command)
            $writer.WriteElementString('maml', 'title', $maml, "---------- $($example.Key) ----------")
            $writer.WriteElementString('dev', 'code', $dev, ($code -join "`n"))
            $writer.WriteStartElement('dev', 'remarks', $dev)
            Add-Paragraphs $writer @(Get-Paragraphs $remarks)
            $writer.WriteEndElement()
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'relatedLinks', $command)
        $links = if ($sections.Contains('RELATED LINKS')) { $sections['RELATED LINKS'] | Where-Object { $_ -match '\S' } } else { @() }
        foreach ($link in $links) {
            $writer.WriteStartElement('maml', 'navigationLink', $maml)
            $writer.WriteElementString('maml', 'linkText', $maml, ($link -replace '^\s*[-*]\s*', '').Trim())
            $writer.WriteElementString('maml', 'uri', $maml, '')
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteEndElement()
        if (-not (& $text 'SYNOPSIS')) { $problems.Add("$($cmdlet.Name): no SYNOPSIS") }
        if (-not (& $text 'DESCRIPTION')) { $problems.Add("$($cmdlet.Name): no DESCRIPTION") }
    }

    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally {
    $writer.Dispose()
}

foreach ($problem in $problems) { Write-Warning "Help: $problem" }
Write-Host "Help for $(@($cmdlets).Count) cmdlets written to $OutputPath"
