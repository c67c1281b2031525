package microsoft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// sessionRow is one Get-CsUserSession row as worker.ps1 writes it. Field
// names match the cmdlet's; encoding/json matches them case-insensitively.
type sessionRow struct {
	DialogID              string       `json:"DialogId"`
	StartTime             psTime       `json:"StartTime"`
	EndTime               psTime       `json:"EndTime"`
	FromURI               string       `json:"FromUri"`
	ToURI                 string       `json:"ToUri"`
	FromTelNumber         string       `json:"FromTelNumber"`
	ToTelNumber           string       `json:"ToTelNumber"`
	ReferredBy            string       `json:"ReferredBy"`
	FromClientVersion     string       `json:"FromClientVersion"`
	ToClientVersion       string       `json:"ToClientVersion"`
	ConferenceURL         string       `json:"ConferenceUrl"`
	MediaTypesDescription string       `json:"MediaTypesDescription"`
	ErrorReports          errorReports `json:"ErrorReports"`
}

// psTime reads a time as PowerShell may write it: ISO 8601 (what worker.ps1
// sends), Windows PowerShell's "\/Date(ms)\/", or null.
type psTime struct{ time.Time }

func (t *psTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s is not a string", b)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if ms, ok := strings.CutPrefix(s, "/Date("); ok {
		ms, _, _ = strings.Cut(ms, ")")
		if i := strings.IndexAny(ms[1:], "+-"); i >= 0 { // an offset after the milliseconds
			ms = ms[:i+1]
		}
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return fmt.Errorf("time %q: %w", s, err)
		}
		t.Time = time.UnixMilli(n).UTC()
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not ISO 8601: %w", s, err)
	}
	t.Time = parsed
	return nil
}

// errorReports reads ErrorReports as an array or, as ConvertTo-Json writes
// a single object, one object.
type errorReports []struct {
	ErrorCategory string `json:"ErrorCategory"`
}

func (e *errorReports) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		b = append(append([]byte{'['}, b...), ']')
	}
	type plain errorReports
	return json.Unmarshal(b, (*plain)(e))
}

// key identifies a row across pages.
func (r sessionRow) key() string {
	if r.DialogID != "" {
		return r.DialogID
	}
	return r.StartTime.Format(time.RFC3339Nano) + "|" + r.FromURI + "|" + r.ToURI
}

// session maps a row; the user's own side gives the node (client version).
func (r sessionRow) session(upn string) vendors.Session {
	node := r.FromClientVersion
	if !sameUser(r.FromURI, upn) && sameUser(r.ToURI, upn) {
		node = r.ToClientVersion
	}
	attrs := []vendors.Attribute{
		{Name: "caller", Value: firstOf(r.FromURI, r.FromTelNumber)},
		{Name: "callee", Value: firstOf(r.ToURI, r.ToTelNumber)},
	}
	if m := modalities(r.MediaTypesDescription); m != "" {
		attrs = append(attrs, vendors.Attribute{Name: "modalities", Value: m})
	}
	var failures []string
	for _, e := range r.ErrorReports {
		if e.ErrorCategory != "" {
			failures = append(failures, e.ErrorCategory)
		}
	}
	if len(failures) > 0 {
		attrs = append(attrs, vendors.Attribute{Name: "failure", Value: strings.Join(failures, ", ")})
	}
	if r.MediaTypesDescription != "" {
		attrs = append(attrs, vendors.Attribute{Name: "media", Value: r.MediaTypesDescription})
	}
	if r.ConferenceURL != "" {
		attrs = append(attrs, vendors.Attribute{Name: "conference", Value: r.ConferenceURL})
	}
	if r.ReferredBy != "" {
		attrs = append(attrs, vendors.Attribute{Name: "referred by", Value: r.ReferredBy})
	}
	return vendors.Session{
		ID:         r.DialogID,
		Node:       node,
		Started:    r.StartTime.Time,
		Ended:      r.EndTime.Time,
		Attributes: attrs,
	}
}

// sameUser compares a SIP URI (sip:marc@contoso.com) with a UPN.
func sameUser(uri, upn string) bool {
	uri = strings.TrimSpace(uri)
	if len(uri) > 4 && strings.EqualFold(uri[:4], "sip:") {
		uri = uri[4:]
	}
	return uri != "" && strings.EqualFold(uri, upn)
}

// modalities turns "[Conference][Audio]" into "conference, audio".
func modalities(description string) string {
	var out []string
	for _, part := range strings.Split(description, "[") {
		part = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), "]"))
		if part != "" {
			out = append(out, strings.ToLower(part))
		}
	}
	return strings.Join(out, ", ")
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
