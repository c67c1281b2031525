package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
)

// IdentityRule maps a person, as typed, to one instance's identity.
type IdentityRule struct {
	// EmailTemplate turns an email (typed, or a mention's) into the
	// instance's identity: {email}, {local} and {domain} are replaced;
	// a backslash separates a directory ("CORP\{local}"). Empty: emails and
	// mentions cannot be mapped for this instance.
	EmailTemplate string
	// DefaultDirectory is used for a bare name ("jsmith").
	DefaultDirectory string
	// RequireDirectory refuses a bare name when there is no default
	// directory (Qlik identifies people by directory and user id).
	RequireDirectory bool
	// EmailOnly refuses DIR\user forms (Microsoft identifies people by UPN),
	// unless AccountTemplate maps them.
	EmailOnly bool
	// AccountTemplate turns DIR\user into the instance's identity:
	// {directory} and {user} are replaced ("{user}@contoso.com" finds a
	// directory account's UPN). Empty: accounts are taken as they are.
	AccountTemplate string
}

// Directory finds the email address of a person the chat knows by id (the
// ID of @ID). It alone knows what an id looks like.
type Directory interface {
	Email(ctx context.Context, chatID string) (string, error)
}

// UnknownPerson is a Directory's answer for an id that names no person: a
// group, a channel, or a name typed where the chat wanted a person picked.
type UnknownPerson struct {
	// Hint says how to name a person in that chat, as a sentence.
	Hint string
}

func (e *UnknownPerson) Error() string { return "not a person: " + e.Hint }

// MapUser applies the rule to a reference. A mention must have been resolved
// (its Email set) before.
func (r IdentityRule) MapUser(u UserRef, instance string) (vendors.Identity, error) {
	switch u.Form {
	case Account:
		if r.AccountTemplate != "" {
			s := strings.NewReplacer("{directory}", u.Directory, "{user}", u.Name).Replace(r.AccountTemplate)
			if r.EmailOnly {
				s = strings.ToLower(s) // a UPN, which Microsoft compares without case
			}
			if dir, id, ok := strings.Cut(s, `\`); ok {
				return vendors.Identity{Directory: dir, ID: id}, nil
			}
			return vendors.Identity{ID: s}, nil
		}
		if r.EmailOnly {
			return vendors.Identity{}, fmt.Errorf("%s identifies people by email address: write user@domain or an @mention instead of %s", instance, u)
		}
		return vendors.Identity{Directory: u.Directory, ID: u.Name}, nil
	case Bare:
		if r.EmailOnly {
			return vendors.Identity{}, fmt.Errorf("%s identifies people by email address: write user@domain or an @mention instead of %s", instance, u)
		}
		if r.DefaultDirectory != "" {
			return vendors.Identity{Directory: r.DefaultDirectory, ID: u.Name}, nil
		}
		if r.RequireDirectory {
			return vendors.Identity{}, fmt.Errorf("%s needs a user directory: write DIR\\%s", instance, u.Name)
		}
		return vendors.Identity{ID: u.Name}, nil
	case Email, Mention:
		if u.Email == "" {
			return vendors.Identity{}, fmt.Errorf("no email address is known for %s", u)
		}
		if r.EmailTemplate == "" {
			return vendors.Identity{}, fmt.Errorf("%s has no rule to map an email address to its users (identity.email_template): write DIR\\user instead", instance)
		}
		local, domain, _ := strings.Cut(u.Email, "@")
		s := strings.NewReplacer("{email}", u.Email, "{local}", local, "{domain}", domain).Replace(r.EmailTemplate)
		if dir, id, ok := strings.Cut(s, `\`); ok {
			return vendors.Identity{Directory: dir, ID: id}, nil
		}
		return vendors.Identity{ID: s}, nil
	}
	return vendors.Identity{}, fmt.Errorf("no person given")
}

// CheckTemplate reports a template that would never produce a usable
// identity, for config validation.
func CheckTemplate(t string) error {
	if t == "" {
		return nil
	}
	rest := strings.NewReplacer("{email}", "", "{local}", "", "{domain}", "").Replace(t)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q has an unknown placeholder: use {email}, {local} or {domain}", t)
	}
	if !strings.Contains(t, "{") {
		return fmt.Errorf("%q has no placeholder, so every person would map to the same user", t)
	}
	return nil
}
