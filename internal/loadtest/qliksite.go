package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// The fake Qlik site runs in a process of its own: its TLS work would
// otherwise share a scheduler with the fake Slack, delay the fake's reading
// of acks, and make serve's acks look later than they are.

// siteInfo is what the site's process tells the harness once it is up.
type siteInfo struct {
	Proxies       []string
	Cert, Key, CA string
}

// runSite is the site's process: it writes the client files to dir,
// prints a siteInfo line, then applies "delay <duration>" lines from stdin
// to every proxy and "many <n>" lines (n more sessions for Domain\Marc),
// answering "ok", and answers "conns" lines with the connections opened
// and full handshakes made so far, until stdin closes.
func runSite(dir string) error {
	site, err := qliktest.New(qliktest.Options{Proxies: proxies, Demo: true})
	if err != nil {
		return err
	}
	defer site.Close()
	files, err := site.ClientFiles(dir)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(siteInfo{Proxies: site.Proxies(), Cert: files.Cert, Key: files.Key, CA: files.CA}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if n, ok := strings.CutPrefix(in.Text(), "many "); ok {
			count, err := strconv.Atoi(n)
			if err != nil {
				return fmt.Errorf("site: %q: %w", in.Text(), err)
			}
			addSessions(site, count)
			fmt.Println("ok")
			continue
		}
		if in.Text() == "conns" {
			var conns, full int
			for i := range proxies {
				conns, full = conns+site.Connections(i), full+site.FullHandshakes(i)
			}
			fmt.Println(conns, full)
			continue
		}
		d, err := time.ParseDuration(strings.TrimPrefix(in.Text(), "delay "))
		if err != nil {
			return fmt.Errorf("site: %q: %w", in.Text(), err)
		}
		for i := range proxies {
			site.SetDelay(i, d)
		}
		fmt.Println("ok")
	}
	return in.Err()
}

// addSessions gives Domain\Marc n more sessions, spread over the proxies,
// each with the attributes a real one carries.
func addSessions(site *qliktest.Site, n int) {
	for i := range n {
		site.AddSession(i%proxies, qliktest.Session{
			UserDirectory: "Domain", UserID: "Marc", UserName: "Marc Dupont",
			SessionID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			Attributes: []qliktest.Attribute{
				{Name: "Group", Value: "Finance Analysts"}, {Name: "Email", Value: "marc@contoso.example"},
				{Name: "OU", Value: "OU=Finance,OU=Users,DC=contoso,DC=example"},
			},
		})
	}
}

// many has the site add n sessions for Domain\Marc.
func (s *siteProcess) many(n int) error {
	if _, err := fmt.Fprintf(s.in, "many %d\n", n); err != nil {
		return err
	}
	if !s.out.Scan() || s.out.Text() != "ok" {
		return fmt.Errorf("the fake Qlik site did not add sessions: %v", s.out.Err())
	}
	return nil
}

// siteProcess is the harness's handle on the site's process.
type siteProcess struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	info siteInfo
}

func startSite(dir string, nice int) (*siteProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := niced(nice, self, "-site", dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &siteProcess{cmd: cmd, in: in, out: bufio.NewScanner(stdout)}
	if !s.out.Scan() {
		s.close()
		return nil, fmt.Errorf("the fake Qlik site did not start: %v", s.out.Err())
	}
	if err := json.Unmarshal(s.out.Bytes(), &s.info); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *siteProcess) setDelay(d time.Duration) error {
	if _, err := fmt.Fprintf(s.in, "delay %s\n", d); err != nil {
		return err
	}
	if !s.out.Scan() || s.out.Text() != "ok" {
		return fmt.Errorf("the fake Qlik site did not take the delay: %v", s.out.Err())
	}
	return nil
}

// conns is how many connections the proxies have accepted, and how many
// full (not resumed) TLS handshakes they made, so far.
func (s *siteProcess) conns() (conns, full int, err error) {
	if _, err := fmt.Fprintln(s.in, "conns"); err != nil {
		return 0, 0, err
	}
	if !s.out.Scan() {
		return 0, 0, fmt.Errorf("the fake Qlik site did not count: %v", s.out.Err())
	}
	_, err = fmt.Sscan(s.out.Text(), &conns, &full)
	return conns, full, err
}

func (s *siteProcess) close() {
	s.in.Close()
	s.cmd.Wait()
}
