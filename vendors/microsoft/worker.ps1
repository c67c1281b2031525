# sessionbot's Get-CsUserSession worker.
#
# Run as: pwsh -NoLogo -NoProfile -NonInteractive -File worker.ps1
# Reads one JSON object per line on stdin and answers one per line on stdout:
#
#   {"op":"start","tenantId":"..","appId":"..","certificateThumbprint":".."}
#     -> {"ok":true}  (imports MicrosoftTeams and connects once)
#   {"id":N,"op":"sessions","user":"..","start":"RFC3339","end":"RFC3339"}
#     -> {"id":N,"ok":true,"rows":[...]}
#   any failure
#     -> {"id":N,"ok":false,"error":"..","category":"<ErrorCategory>"}
#
# Values from a request are only ever passed as parameter values, never
# pasted into script text. Stdout carries the protocol and nothing else:
# every other stream is silenced or redirected, and diagnostics go to stderr.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'

$utf8 = [System.Text.UTF8Encoding]::new($false)
$stdout = [System.IO.StreamWriter]::new([Console]::OpenStandardOutput(), $utf8)
$stdout.AutoFlush = $true
$stdin = [System.IO.StreamReader]::new([Console]::OpenStandardInput(), $utf8)

function Send-Answer([hashtable] $answer) {
    $stdout.WriteLine(($answer | ConvertTo-Json -Compress -Depth 8))
}

function Send-Failure($id, $err) {
    $category = 'NotSpecified'
    if ($err -is [System.Management.Automation.ErrorRecord]) {
        $category = [string]$err.CategoryInfo.Category
        $message = $err.Exception.Message
    } else {
        $message = [string]$err
    }
    $answer = @{ ok = $false; error = $message; category = $category }
    if ($null -ne $id) { $answer.id = $id }
    Send-Answer $answer
}

# ConvertFrom-Json may already have turned an ISO 8601 string into a DateTime.
function ConvertTo-Offset($value) {
    if ($value -is [DateTimeOffset]) { return $value }
    if ($value -is [DateTime]) { return [DateTimeOffset]$value.ToUniversalTime() }
    return [DateTimeOffset]::Parse([string]$value, [Globalization.CultureInfo]::InvariantCulture)
}

function Format-Time($value) {
    if ($null -eq $value) { return $null }
    return (ConvertTo-Offset $value).UtcDateTime.ToString('o', [Globalization.CultureInfo]::InvariantCulture)
}

function ConvertTo-Row($s) {
    [ordered]@{
        DialogId              = [string]$s.DialogId
        StartTime             = Format-Time $s.StartTime
        EndTime               = Format-Time $s.EndTime
        FromUri               = [string]$s.FromUri
        ToUri                 = [string]$s.ToUri
        FromTelNumber         = [string]$s.FromTelNumber
        ToTelNumber           = [string]$s.ToTelNumber
        ReferredBy            = [string]$s.ReferredBy
        FromClientVersion     = [string]$s.FromClientVersion
        ToClientVersion       = [string]$s.ToClientVersion
        ConferenceUrl         = [string]$s.ConferenceUrl
        MediaTypesDescription = [string]$s.MediaTypesDescription
        ErrorReports          = @($s.ErrorReports | Where-Object { $null -ne $_ } | ForEach-Object { @{ ErrorCategory = [string]$_.ErrorCategory } })
    }
}

$connected = $false
while ($null -ne ($line = $stdin.ReadLine())) {
    if ($line.Trim() -eq '') { continue }
    $id = $null
    try {
        $req = $line | ConvertFrom-Json
        $id = $req.id
        switch ($req.op) {
            'start' {
                if (-not $connected) {
                    Import-Module MicrosoftTeams 3>$null 4>$null 5>$null 6>$null | Out-Null
                    $connect = @{
                        CertificateThumbprint = [string]$req.certificateThumbprint
                        ApplicationId         = [string]$req.appId
                        TenantId              = [string]$req.tenantId
                    }
                    Connect-MicrosoftTeams @connect 3>$null 4>$null 5>$null 6>$null | Out-Null
                    $connected = $true
                }
                Send-Answer @{ ok = $true }
            }
            'sessions' {
                if (-not $connected) { throw 'not connected: send a start message first' }
                $query = @{
                    User      = [string]$req.user
                    StartTime = ConvertTo-Offset $req.start
                    EndTime   = ConvertTo-Offset $req.end
                }
                $sessions = Get-CsUserSession @query 3>$null 4>$null 5>$null 6>$null
                $rows = @($sessions | Where-Object { $null -ne $_ } | ForEach-Object { ConvertTo-Row $_ })
                Send-Answer @{ id = $id; ok = $true; rows = $rows }
            }
            default {
                Send-Failure $id ("unknown op '{0}'" -f $req.op)
            }
        }
    } catch {
        [Console]::Error.WriteLine(('request {0} failed: {1}' -f $id, $_.Exception.Message))
        Send-Failure $id $_
    }
}
