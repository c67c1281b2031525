// Command loadtest measures `sessionbot serve` under load against a bare
// slack-go Socket Mode bot that only acks (./echobot), run one after the
// other on the same fake Slack (bot/slacktest), with a fake Qlik site of
// five proxies (vendors/qlik/qliktest) in a process of its own. Both bots
// are real processes, built here, so their CPU time and memory come from
// /proc. Loopback only.
//
//	go run ./internal/loadtest            # every scenario, about five minutes
//	go run ./internal/loadtest -leak=2000 # a shorter leak run
//	go run ./internal/loadtest -burst 0 -leak 0 -cpuprofile serve.pprof
//	                                      # saturation only, serve profiled
//	go run ./internal/loadtest -saturation 0 -leak 0 -rounds 1 -trace serve.trace
//	                                      # burst only, serve's first seconds traced
//	                                      # (go tool trace serve.trace)
//	go run ./internal/loadtest -burst 0 -saturation 0 -leak 0
//	                                      # the paging walk only
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
)

const (
	botToken = "xoxb-loadtest"
	appToken = "xapp-loadtest"
	asker    = "U0ONCALL"
	proxies  = 5
	// listText asks every proxy: Domain\Marc has sessions on two of them.
	listText = `list Domain\Marc`
)

type options struct {
	burst, steadyRate int
	rounds            int
	steadyFor         time.Duration
	slowVendor        time.Duration
	saturation        int
	window            int
	leak              int
	maxConnections    int
	maxInFlight       int
	// nice is the niceness the bots and the Qlik site run at, above this
	// process's: the fake Slack stands in for Slack's servers, which do
	// not share a CPU with the bot, so a bot's work must not delay the
	// fake's reading of its acks. Both bots get the same.
	nice int
	// pageSessions and refreshes shape the paging walk.
	pageSessions, refreshes int
	// cpuProfile, when set, is where serve's CPU profile of the timed
	// part of the saturation scenario goes.
	cpuProfile string
	// trace, when set, is where serve's execution trace of the start of
	// its first burst round goes.
	trace string
}

func main() {
	var o options
	flag.IntVar(&o.burst, "burst", 200, "commands sent at once in the burst scenario")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of the burst scenario, each bot in turn")
	flag.IntVar(&o.steadyRate, "rate", 50, "commands per second after the burst")
	flag.DurationVar(&o.steadyFor, "steady", 10*time.Second, "how long the steady rate lasts")
	flag.DurationVar(&o.slowVendor, "slow", 2*time.Second, "how long slow vendors take")
	flag.IntVar(&o.saturation, "saturation", 3000, "commands in the saturation scenario")
	flag.IntVar(&o.window, "window", 200, "commands outstanding at once when saturating")
	flag.IntVar(&o.leak, "leak", 10000, "commands in the leak scenario (0 skips it)")
	flag.IntVar(&o.nice, "nice", 10, "niceness of the bots and the Qlik site, so the fake Slack reads acks as they arrive (0: same as the harness)")
	flag.IntVar(&o.pageSessions, "page-sessions", 2000, "sessions in the paging walk's list (0 skips it)")
	flag.IntVar(&o.refreshes, "refreshes", 10, "Refresh clicks after the paging walk")
	flag.IntVar(&o.maxConnections, "max-connections", 32, "instances.*.max_connections for serve")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 256, "slack.max_in_flight for serve")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write serve's CPU profile of the saturation scenario to this file, and its allocations since start to the file with .allocs added")
	flag.StringVar(&o.trace, "trace", "", "write serve's execution trace of its first burst round's first seconds to this file")
	site := flag.String("site", "", "")
	flag.Parse()
	if *site != "" {
		if err := runSite(*site); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest site:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "sessionbot-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	for _, b := range []struct{ out, pkg string }{{"sessionbot", "./cmd/sessionbot"}, {"echobot", "./internal/loadtest/echobot"}} {
		args := []string{"build", "-o", filepath.Join(dir, b.out)}
		var tags []string
		if o.cpuProfile != "" {
			tags = append(tags, "cpuprofile") // see cmd/sessionbot/cpuprofile.go
		}
		if o.trace != "" {
			tags = append(tags, "trace") // see cmd/sessionbot/trace.go
		}
		if len(tags) > 0 && b.out == "sessionbot" {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		build := exec.Command("go", append(args, b.pkg)...)
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", b.pkg, err)
		}
	}

	site, err := startSite(dir, o.nice)
	if err != nil {
		return err
	}
	defer site.close()
	fakePIDs = append(fakePIDs, strconv.Itoa(site.cmd.Process.Pid))
	fake := slacktest.New(slacktest.Options{BotToken: botToken, AppToken: appToken})
	defer fake.Close()

	env := &environment{o: o, dir: dir, fake: fake, site: site, serveConfig: filepath.Join(dir, "sessionbot.yaml")}
	cfg := fmt.Sprintf(`slack:
  bot_token: %s
  app_token: %s
  api_url: %s
%slog:
  level: warn
store:
  driver: sqlite
  path: %s
metrics:
  listen: "%%s"
instances:
  qlik-load:
    type: qlik
    timeout: 30s
    proxies: [%s]
    cert_file: %s
    key_file: %s
    ca_file: %s
%s`, botToken, appToken, fake.APIURL(), optional("  max_in_flight", o.maxInFlight), filepath.Join(dir, "sessionbot.db"),
		strings.Join(site.info.Proxies, ", "), site.info.Cert, site.info.Key, site.info.CA, optional("    max_connections", o.maxConnections))
	env.serveTemplate = cfg

	fmt.Printf("sessionbot load test: %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s, load average %s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAverage())
	fmt.Printf("fake Slack and driver in this process, a fake Qlik site with %d proxies (mutual TLS) in another; both bots are subprocesses, measured from /proc\n", proxies)
	fmt.Printf("serve: slack.max_in_flight %d, max_connections %d per proxy; command %q (one request to every proxy)\n", o.maxInFlight, o.maxConnections, listText)
	fmt.Printf("the bots and the Qlik site run at nice %d, so that the fake Slack, standing in for Slack's servers, reads acks as they arrive\n\n", o.nice)

	// Each scenario runs when its count is set.
	for _, sc := range []struct {
		n   int
		run func() error
	}{{o.burst, env.burst}, {o.saturation, env.saturation}, {o.leak, env.leak}, {o.pageSessions, env.paging}} {
		if sc.n <= 0 {
			continue
		}
		if err := sc.run(); err != nil {
			return err
		}
	}
	if v := fake.Violations(); len(v) > 0 {
		return fmt.Errorf("the fake Slack saw %d protocol violations, first: %v", len(v), v[0])
	}
	return nil
}

type environment struct {
	o             options
	dir           string
	fake          *slacktest.Server
	site          *siteProcess
	serveConfig   string
	serveTemplate string
	traced        bool // serve was started with a trace once
}

func (e *environment) setVendorDelay(d time.Duration) {
	if err := e.site.setDelay(d); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// process is one bot under test.
type process struct {
	name    string
	cmd     *exec.Cmd
	metrics string // host:port serving go_goroutines
	log     *os.File
	traced  bool      // writing an execution trace
	started time.Time // when the process was started
}

func (e *environment) start(name string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &process{name: name, metrics: addr, traced: name == "serve" && e.o.trace != "" && !e.traced}
	p.log, err = os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	switch name {
	case "serve":
		if err := os.WriteFile(e.serveConfig, []byte(fmt.Sprintf(e.serveTemplate, addr)), 0o600); err != nil {
			return nil, err
		}
		p.cmd = niced(e.o.nice, filepath.Join(e.dir, "sessionbot"), "serve", "--config", e.serveConfig)
		p.cmd.Env = os.Environ()
		if e.o.cpuProfile != "" {
			p.cmd.Env = append(p.cmd.Env, "SESSIONBOT_CPUPROFILE="+e.profilePath())
		}
		if e.o.trace != "" && !e.traced {
			trace, err := filepath.Abs(e.o.trace)
			if err != nil {
				return nil, err
			}
			p.cmd.Env = append(p.cmd.Env, "SESSIONBOT_TRACE="+trace)
			e.traced = true
		}
	case "echo":
		p.cmd = niced(e.o.nice, filepath.Join(e.dir, "echobot"), "-api-url", e.fake.APIURL(), "-listen", addr)
		p.cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+botToken, "SLACK_APP_TOKEN="+appToken)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	if err := e.fake.WaitConnections(1, 20*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s did not connect: %w (log in %s)", name, err, p.log.Name())
	}
	// Let start-up work (migrations, first handshakes) finish.
	time.Sleep(300 * time.Millisecond)
	return p, nil
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.log.Close()
}

// fakePIDs are the processes of the fakes and the driver.
var fakePIDs = []string{"self"}

// usage is what /proc says about a process.
type usage struct {
	cpu        time.Duration
	kernel     time.Duration // the part of cpu spent in the kernel
	fakes      time.Duration // this process and the site's: the fakes and the driver
	rss        int64         // bytes
	goroutines int
}

func (p *process) usage() usage {
	var u usage
	u.cpu, u.kernel = cpuOf(strconv.Itoa(p.cmd.Process.Pid))
	for _, pid := range fakePIDs {
		cpu, _ := cpuOf(pid)
		u.fakes += cpu
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				u.rss = kb << 10
			}
		}
	}
	u.goroutines = p.goroutines()
	return u
}

// cpuOf is the CPU time a process (a pid or "self") has used, and the
// part of it in the kernel. On loopback the kernel part of a write includes
// the receiving end's TCP processing, which a real network does not charge
// to the sender.
func cpuOf(pid string) (cpu, kernel time.Duration) {
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		cpu = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
		kernel = time.Duration(stime) * time.Second / 100
	}
	return cpu, kernel
}

// ackHistogram reads serve's sessionbot_ack_seconds buckets: upper bound
// in seconds to cumulative count.
func (p *process) ackHistogram() map[float64]float64 {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	h := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `sessionbot_ack_seconds_bucket{le="`)
		if !ok {
			continue
		}
		le, count, _ := strings.Cut(rest, `"} `)
		bound, err1 := strconv.ParseFloat(le, 64)
		n, err2 := strconv.ParseFloat(count, 64)
		if err1 == nil && err2 == nil {
			h[bound] = n
		}
	}
	return h
}

// histogramQuantile is the upper bound of the bucket holding quantile q.
func histogramQuantile(h map[float64]float64, q float64) time.Duration {
	bounds := slices.Sorted(maps.Keys(h))
	if len(bounds) == 0 {
		return 0
	}
	total := h[bounds[len(bounds)-1]]
	for _, b := range bounds {
		if h[b] >= q*total {
			return time.Duration(b * float64(time.Second))
		}
	}
	return 0
}

func (p *process) goroutines() int {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// command is one slash command sent and what became of it.
type command struct {
	sent    slacktest.Sent
	sentAt  time.Time
	ack     time.Duration // on the wire, as the fake timed it; 0 until acked
	replied time.Time
	reply   string // the reply's text and blocks
}

// driver sends commands and polls the fake for their acks and replies. It
// polls sparingly: the fake reads acks one at a time and records each under
// its one lock, so a driver holding that lock often would delay the fake's
// reading, and the acks would look late.
type driver struct {
	fake      *slacktest.Server
	wantReply bool
	all       []*command
	open      []*command // not finished yet
}

func (d *driver) send() error {
	s, err := d.fake.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: listText, UserID: asker, ChannelID: "C0OPS"})
	if err != nil {
		return err
	}
	c := &command{sent: s, sentAt: time.Now()}
	d.all = append(d.all, c)
	d.open = append(d.open, c)
	return nil
}

// poll records what arrived and drops finished commands from open.
func (d *driver) poll() {
	now := time.Now()
	d.open = slices.DeleteFunc(d.open, func(c *command) bool {
		if c.ack == 0 {
			if acks := d.fake.Acks(c.sent.EnvelopeID); len(acks) > 0 {
				c.ack = max(acks[0].Latency, time.Nanosecond)
			}
		}
		if d.wantReply && c.replied.IsZero() && c.ack != 0 {
			if r := d.fake.Responses(c.sent.ResponseID); len(r) > 0 {
				c.replied, c.reply = now, r[0].Text+" "+string(r[0].Blocks)
			}
		}
		return c.ack != 0 && (!d.wantReply || !c.replied.IsZero())
	})
}

// wait polls until nothing is open or the timeout passes.
func (d *driver) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for len(d.open) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d commands unanswered after %s", len(d.open), len(d.all), timeout)
		}
		time.Sleep(20 * time.Millisecond)
		d.poll()
	}
	return nil
}

func (d *driver) acks() []time.Duration {
	var out []time.Duration
	for _, c := range d.all {
		if c.ack != 0 {
			out = append(out, c.ack)
		}
	}
	slices.Sort(out)
	return out
}

// printSlowest lists the n slowest acks, to find them in a trace that
// began about when the process started.
func (d *driver) printSlowest(started time.Time, n int) {
	byAck := slices.Clone(d.all)
	slices.SortFunc(byAck, func(a, b *command) int { return cmp.Compare(b.ack, a.ack) })
	index := map[*command]int{}
	for i, c := range d.all {
		index[c] = i
	}
	fmt.Fprintf(os.Stderr, "slowest acks of the traced round (times from the process start):\n")
	for _, c := range byAck[:min(n, len(byAck))] {
		fmt.Fprintf(os.Stderr, "  #%d sent %s, acked in %s, read back at %s\n", index[c], c.sentAt.Sub(started).Round(time.Microsecond), c.ack.Round(time.Microsecond), (c.sentAt.Sub(started) + c.ack).Round(time.Microsecond))
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// replies counts the replies by kind.
func (d *driver) replies() (lists, busy, other int, last time.Time) {
	for _, c := range d.all {
		switch {
		case c.replied.IsZero():
			continue
		case strings.Contains(c.reply, "busy") || strings.Contains(c.reply, "too many requests"):
			busy++
		case strings.Contains(c.reply, "Domain\\Marc"):
			lists++
			if c.replied.After(last) {
				last = c.replied
			}
		default:
			other++
			if os.Getenv("LOADTEST_SHOW_OTHER") != "" {
				fmt.Fprintf(os.Stderr, "other reply: %.400s\n", c.reply)
			}
		}
	}
	return
}

// result is one bot's run of one scenario.
type result struct {
	acks               []time.Duration
	commands           int
	elapsed            time.Duration // first send to last answer
	lists, busy, other int
	before, after      usage
	cpu, kernel, fakes time.Duration // used by the bot (kernel: its part in the kernel), and by this process
	// ackMetric is serve's own sessionbot_ack_seconds histogram.
	ackMetric map[float64]float64
	// newConns and newHandshakes are the Qlik connections opened, and full
	// TLS handshakes made, in the timed part of a closed loop.
	newConns, newHandshakes int
}

// measured sets cpu and fakes from before and after.
func (r *result) measured() {
	r.cpu, r.kernel, r.fakes = r.after.cpu-r.before.cpu, r.after.kernel-r.before.kernel, r.after.fakes-r.before.fakes
}

// add pools another round's result into r.
func (r *result) add(o result) {
	r.acks = append(r.acks, o.acks...)
	slices.Sort(r.acks)
	r.commands += o.commands
	r.elapsed += o.elapsed
	r.lists, r.busy, r.other = r.lists+o.lists, r.busy+o.busy, r.other+o.other
	r.cpu, r.kernel, r.fakes = r.cpu+o.cpu, r.kernel+o.kernel, r.fakes+o.fakes
	r.after = o.after
	if r.ackMetric == nil {
		r.ackMetric = map[float64]float64{}
	}
	for b, n := range o.ackMetric {
		r.ackMetric[b] += n
	}
}

func (r result) cpuPerCommand() time.Duration {
	return r.cpu / time.Duration(max(r.commands, 1))
}

func (r result) kernelPerCommand() time.Duration {
	return r.kernel / time.Duration(max(r.commands, 1))
}

func (r result) fakesPerCommand() time.Duration {
	return r.fakes / time.Duration(max(r.commands, 1))
}

func (r result) rate(n int) float64 { return float64(n) / r.elapsed.Seconds() }

// burst: o.burst commands at once, then o.steadyRate a second, with every
// proxy taking o.slowVendor to answer.
func (e *environment) burst() error {
	o := e.o
	e.setVendorDelay(o.slowVendor)
	fmt.Printf("== burst + steady: %d commands at once, then %d/s for %s; every proxy answers in %s; %d rounds, each bot in turn\n", o.burst, o.steadyRate, o.steadyFor, o.slowVendor, o.rounds)
	results := map[string]*result{"echo": {}, "serve": {}}
	for range o.rounds {
		for _, name := range []string{"echo", "serve"} {
			r, err := e.burstRound(name)
			if err != nil {
				return err
			}
			results[name].add(r)
		}
	}
	echo, serve := *results["echo"], *results["serve"]
	capacity := float64(cmp.Or(o.maxConnections, 32)) / o.slowVendor.Seconds()
	t := table{}
	t.latencies(echo, serve)
	t.row("serve's sessionbot_ack_seconds p50, p99 (bucket bounds, ms)", "-",
		ms(histogramQuantile(serve.ackMetric, 0.5))+", "+ms(histogramQuantile(serve.ackMetric, 0.99)), "")
	t.row("lists answered", "-", fmt.Sprintf("%d of %d", serve.lists, serve.commands), "")
	t.row("busy answers", "-", strconv.Itoa(serve.busy), "")
	t.row("other answers", "-", strconv.Itoa(serve.other), "")
	t.row("lists/s (first send to last list)", "-", fmt.Sprintf("%.1f", serve.rate(serve.lists)),
		fmt.Sprintf("%.2f of the cap's %.1f/s", serve.rate(serve.lists)/capacity, capacity))
	t.usage(echo, serve)
	t.print()
	return nil
}

func (e *environment) burstRound(name string) (result, error) {
	o := e.o
	p, err := e.start(name)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	d := &driver{fake: e.fake, wantReply: name == "serve"}
	r := result{before: p.usage()}
	start := time.Now()
	for range o.burst {
		if err := d.send(); err != nil {
			return result{}, err
		}
	}
	tick := time.NewTicker(time.Second / time.Duration(o.steadyRate))
	for end := time.Now().Add(o.steadyFor); time.Now().Before(end); {
		<-tick.C
		if err := d.send(); err != nil {
			return result{}, err
		}
		d.poll()
	}
	tick.Stop()
	err = d.wait(2 * time.Minute)
	r.after = p.usage()
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	if name == "serve" {
		r.ackMetric = p.ackHistogram()
	}
	r.measured()
	if p.traced {
		d.printSlowest(p.started, 20)
	} else if os.Getenv("LOADTEST_SLOWEST") != "" {
		d.printSlowest(p.started, 8)
	}
	r.acks, r.commands = d.acks(), len(d.all)
	var last time.Time
	r.lists, r.busy, r.other, last = d.replies()
	r.elapsed = last.Sub(start)
	if name == "echo" {
		r.elapsed = 0
	}
	return r, nil
}

// saturation: o.saturation commands, o.window outstanding at a time, with
// vendors answering at once. For echo a command is done when acked, for
// serve when answered.
func (e *environment) saturation() error {
	o := e.o
	echo, serve, err := e.closedLoops(fmt.Sprintf("saturation: %d commands, %d outstanding at a time; proxies answer at once", o.saturation, o.window), o.saturation, false)
	if err != nil {
		return err
	}
	t := table{}
	t.latencies(echo, serve)
	t.throughput("commands/s (echo: acks, serve: lists)", echo, serve)
	t.row("Qlik connections opened (full TLS handshakes) after warm-up", "-", fmt.Sprintf("%d (%d)", serve.newConns, serve.newHandshakes), "")
	t.usage(echo, serve)
	t.print()
	return nil
}

// leak: o.leak commands as in saturation, then memory and goroutines
// after the bot has been idle for a few seconds, against before.
func (e *environment) leak() error {
	o := e.o
	echo, serve, err := e.closedLoops(fmt.Sprintf("leaks: %d commands, %d outstanding at a time, then 5 s idle", o.leak, o.window), o.leak, true)
	if err != nil {
		return err
	}
	t := table{}
	t.throughput("commands/s", echo, serve)
	t.row("RSS before (MiB)", mib(echo.before.rss), mib(serve.before.rss), "")
	t.row("RSS after, idle (MiB)", mib(echo.after.rss), mib(serve.after.rss), "")
	t.row("goroutines before", strconv.Itoa(echo.before.goroutines), strconv.Itoa(serve.before.goroutines), "")
	t.row("goroutines after, idle", strconv.Itoa(echo.after.goroutines), strconv.Itoa(serve.after.goroutines), "")
	t.row("CPU per command (ms)", ms(echo.cpuPerCommand()), ms(serve.cpuPerCommand()), ratio(float64(serve.cpuPerCommand()), float64(echo.cpuPerCommand())))
	t.print()
	return nil
}

// closedLoops runs closedLoop for the echo bot, then for serve, under a
// heading, with vendors answering at once.
func (e *environment) closedLoops(heading string, n int, idleAfter bool) (echo, serve result, err error) {
	e.setVendorDelay(0)
	fmt.Printf("== %s\n", heading)
	if echo, err = e.closedLoop("echo", n, idleAfter); err != nil {
		return result{}, result{}, err
	}
	serve, err = e.closedLoop("serve", n, idleAfter)
	return echo, serve, err
}

func (e *environment) closedLoop(name string, n int, idleAfter bool) (result, error) {
	p, err := e.start(name)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	d := &driver{fake: e.fake, wantReply: name == "serve"}
	// A window's worth first, so connection pools and caches are warm.
	for range e.o.window {
		d.send()
	}
	if err := d.wait(time.Minute); err != nil {
		return result{}, fmt.Errorf("%s warm-up: %w", name, err)
	}
	d.all = nil
	profiling := name == "serve" && e.o.cpuProfile != "" && !idleAfter
	if profiling {
		os.Remove(e.profilePath())
		p.cmd.Process.Signal(syscall.SIGUSR1)
	}
	r := result{before: p.usage()}
	conns, full, err := e.site.conns()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	for len(d.all) < n {
		for len(d.open) < e.o.window && len(d.all) < n {
			if err := d.send(); err != nil {
				return result{}, err
			}
		}
		time.Sleep(5 * time.Millisecond)
		d.poll()
	}
	if err := d.wait(2 * time.Minute); err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	r.elapsed = time.Since(start)
	done := p.usage()
	if r.newConns, r.newHandshakes, err = e.site.conns(); err != nil {
		return result{}, err
	}
	r.newConns, r.newHandshakes = r.newConns-conns, r.newHandshakes-full
	if profiling {
		if err := e.saveProfile(p); err != nil {
			return result{}, err
		}
	}
	if idleAfter {
		time.Sleep(5 * time.Second)
	}
	r.after = p.usage()
	r.after.cpu, r.after.kernel, r.after.fakes = done.cpu, done.kernel, done.fakes
	r.measured()
	r.acks, r.commands = d.acks(), len(d.all)
	r.lists, r.busy, r.other, _ = d.replies()
	if name == "echo" {
		r.lists = r.commands
	}
	return r, nil
}

func (e *environment) profilePath() string { return filepath.Join(e.dir, "serve.pprof") }

// saveProfile stops serve's CPU profile and copies it to o.cpuProfile.
func (e *environment) saveProfile(p *process) error {
	p.cmd.Process.Signal(syscall.SIGUSR2)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(e.profilePath())
		if err == nil {
			fmt.Printf("serve's CPU profile of the timed part: %s\n", e.o.cpuProfile)
			if a, err := os.ReadFile(e.profilePath() + ".allocs"); err == nil {
				os.WriteFile(e.o.cpuProfile+".allocs", a, 0o644)
			}
			return os.WriteFile(e.o.cpuProfile, b, 0o644)
		}
	}
	return errors.New("serve wrote no CPU profile: was it built with -tags cpuprofile?")
}

// table prints rows of echo | serve | serve/echo, or under other heads.
type table struct {
	rows [][4]string
	head *[4]string // nil: echo, serve, serve/echo
}

func (t *table) row(label, echo, serve, ratio string) {
	t.rows = append(t.rows, [4]string{label, echo, serve, ratio})
}

// throughput is the rate of each bot under label, and how many lists
// serve answered.
func (t *table) throughput(label string, echo, serve result) {
	t.row(label, fmt.Sprintf("%.0f", echo.rate(echo.commands)), fmt.Sprintf("%.0f", serve.rate(serve.lists)), ratio(serve.rate(serve.lists), echo.rate(echo.commands)))
	t.row("lists answered", "-", fmt.Sprintf("%d of %d (%d busy, %d other)", serve.lists, serve.commands, serve.busy, serve.other), "")
}

func (t *table) latencies(echo, serve result) {
	for _, p := range []struct {
		label string
		q     float64
	}{{"ack p50 on the wire (ms)", 0.50}, {"ack p99 on the wire (ms)", 0.99}, {"ack max (ms)", 1}} {
		a, b := percentile(echo.acks, p.q), percentile(serve.acks, p.q)
		t.row(p.label, ms(a), ms(b), ratio(float64(b), float64(a)))
	}
}

func (t *table) usage(echo, serve result) {
	t.row("CPU per command (ms)", ms(echo.cpuPerCommand()), ms(serve.cpuPerCommand()), ratio(float64(serve.cpuPerCommand()), float64(echo.cpuPerCommand())))
	t.row("  of which in the kernel (ms)", ms(echo.kernelPerCommand()), ms(serve.kernelPerCommand()), "")
	t.row("CPU per command of the fakes and driver (ms)", ms(echo.fakesPerCommand()), ms(serve.fakesPerCommand()), "")
	t.row("RSS after (MiB)", mib(echo.after.rss), mib(serve.after.rss), "")
	t.row("goroutines after", strconv.Itoa(echo.after.goroutines), strconv.Itoa(serve.after.goroutines), "")
}

func (t *table) print() {
	t.row("machine load average (1 min) at the end", "", loadAverage(), "")
	w := [4]int{}
	head := [4]string{"", "echo", "serve", "serve/echo"}
	if t.head != nil {
		head = *t.head
	}
	all := append([][4]string{head}, t.rows...)
	for _, r := range all {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	for _, r := range all {
		fmt.Printf("  %-*s  %*s  %*s  %s\n", w[0], r[0], w[1], r[1], w[2], r[2], r[3])
	}
	fmt.Println()
}

// loadAverage is the machine's, since other work on it slows every bot.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
func mib(b int64) string        { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// optional writes a configuration line unless v is 0 (the default).
func optional(key string, v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d\n", key, v)
}

// niced is exec.Command run at niceness n (every thread: nice applies
// before the program starts).
func niced(n int, path string, args ...string) *exec.Cmd {
	if n == 0 {
		return exec.Command(path, args...)
	}
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(n), path}, args...)...)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the sessionbot module")
	}
	return filepath.Dir(mod), nil
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
