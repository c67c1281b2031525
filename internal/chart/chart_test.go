package chart_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/store"
)

// pixels counts the pixels of each colour.
func pixels(img image.Image) map[color.RGBA]int {
	n := map[color.RGBA]int{}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	for i := 0; i < len(rgba.Pix); i += 4 {
		n[color.RGBA{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3]}]++
	}
	return n
}

func TestChartIsAPNGWithOneLinePerNode(t *testing.T) {
	to := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	var counts []store.NodeCount
	nodes := []struct{ instance, node string }{{"qlik-prod", "qps1"}, {"qlik-prod", "qps2"}, {"commvault", "cs01"}}
	for day := range 7 {
		for i, n := range nodes {
			counts = append(counts, store.NodeCount{Report: "stale", At: to.Add(-time.Duration(6-day) * 24 * time.Hour),
				Instance: n.instance, Node: n.node, Sessions: 10*i + day})
		}
	}
	for _, tc := range []struct {
		name   string
		counts []store.NodeCount
		lines  int
		// minPixels of a line's colour: a week's line crosses the chart
		// (its legend sample alone is about 50); one run is a dot.
		minPixels int
	}{
		{"three nodes over a week", counts, 3, 600},
		{"one run of one node", counts[:1], 1, 30},
		{"nothing recorded yet", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := chart.Render("stale", tc.counts, to.Add(-7*24*time.Hour), to, 800, 400)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(800, 400) {
				t.Errorf("size %v, want 800x400", got)
			}
			count := pixels(img)
			for i := range 4 {
				n := count[chart.LineColor(i)]
				switch {
				case i < tc.lines && n < tc.minPixels:
					t.Errorf("line %d has %d pixels of its colour, want at least %d", i, n, tc.minPixels)
				case i >= tc.lines && n != 0:
					t.Errorf("line %d, for no node, has %d pixels", i, n)
				}
			}
		})
	}
}

// week is a count per node every six hours over the week before to.
func week(to time.Time, nodes int) []store.NodeCount {
	var counts []store.NodeCount
	for h := 0; h < 7*24; h += 6 {
		for i := range nodes {
			counts = append(counts, store.NodeCount{Report: "stale", At: to.Add(-time.Duration(h) * time.Hour),
				Instance: "qlik-prod", Node: fmt.Sprintf("qps%02d.corp.example.com", i), Sessions: 3*i + h%24})
		}
	}
	return counts
}

func TestChartSizesOutsideTheRangeAreRefused(t *testing.T) {
	to := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	const sizes = "the width must be from 320 to 4000 and the height from 200 to 4000"
	from := to.Add(-7 * 24 * time.Hour)
	for _, tc := range []struct {
		name          string
		width, height int
		from          time.Time
		nodes         int
		ok            bool
		// minPixels of each line's colour: eleven lines in the smallest
		// chart hide parts of one another.
		minPixels int
		// err is what a refusal says: the sizes it would draw.
		err string
	}{
		{"no pixels", 0, 0, from, 3, false, 0, sizes},
		{"a negative width", -5, 400, from, 3, false, 0, sizes},
		{"narrower than the labels", 319, 400, from, 3, false, 0, sizes},
		{"lower than the labels", 900, 199, from, 3, false, 0, sizes},
		{"wider than any screen", 8001, 400, from, 3, false, 0, sizes},
		{"wider than a 4K screen and a bit", 4001, 400, from, 3, false, 0, sizes},
		{"higher than a 4K screen and a bit", 900, 4001, from, 3, false, 0, sizes},
		{"a period that ends as it starts", 900, 420, to, 3, false, 0, "the period ends"},
		{"the smallest, with more nodes than its legend holds", 320, 200, from, 11, true, 20, ""},
		{"the default, with more nodes than the palette", chart.Width, chart.Height, from, 11, true, 100, ""},
		{"the widest", 4000, 200, from, 3, true, 1000, ""},
		{"the highest", 320, 4000, from, 3, true, 1000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := chart.Render("stale", week(to, tc.nodes), tc.from, to, tc.width, tc.height)
			if !tc.ok {
				if err == nil {
					t.Fatalf("drew a %dx%d chart, want an error", tc.width, tc.height)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Errorf("the error %q does not say %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(tc.width, tc.height) {
				t.Errorf("size %v, want %dx%d", got, tc.width, tc.height)
			}
			// Every node has a line, those past the legend's room too.
			count := pixels(img)
			for i := range min(tc.nodes, 8) {
				if n := count[chart.LineColor(i)]; n < tc.minPixels {
					t.Errorf("line %d has %d pixels of its colour, want at least %d", i, n, tc.minPixels)
				}
			}
		})
	}
}

// Digests of several reports may draw at once: run with -race.
func TestChartsAreDrawnConcurrently(t *testing.T) {
	to := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	want, err := chart.Render("stale", week(to, 3), to.Add(-7*24*time.Hour), to, 400, 240)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			got, err := chart.Render("stale", week(to, 3), to.Add(-7*24*time.Hour), to, 400, 240)
			if err != nil {
				t.Error(err)
			} else if !bytes.Equal(got, want) {
				t.Error("a chart drawn alongside others differs from the same chart drawn alone")
			}
		})
	}
	wg.Wait()
}

// A Commvault digest has a node per client host: hundreds of them.
func BenchmarkRenderManyNodes(b *testing.B) {
	to := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ nodes, width, height int }{
		{3, chart.Width, chart.Height},
		{300, chart.Width, chart.Height},
		{1000, chart.Width, chart.Height},
		{1000, chart.MaxSide, chart.MaxSide},
	} {
		counts := week(to, tc.nodes)
		b.Run(fmt.Sprintf("%d nodes %dx%d", tc.nodes, tc.width, tc.height), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chart.Render("stale", counts, to.Add(-7*24*time.Hour), to, tc.width, tc.height); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lineColors are the colours of lines in img with at least minPixels
// pixels each: the palette's and the summed line's.
func lineColors(img image.Image, minPixels int) []color.RGBA {
	count := pixels(img)
	var got []color.RGBA
	for i := range 8 {
		if c := chart.LineColor(i); count[c] >= minPixels {
			got = append(got, c)
		}
	}
	if count[chart.OthersColor] >= minPixels {
		got = append(got, chart.OthersColor)
	}
	return got
}

var labelFace = sync.OnceValues(func() (font.Face, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: 13, DPI: 72, Hinting: font.HintingFull})
})

// shows says whether img has s written in it, pixel for pixel as the
// chart sets its labels (the Go font at 13 points, in dark grey on white).
func shows(t *testing.T, img image.Image, s string) bool {
	t.Helper()
	face, err := labelFace()
	if err != nil {
		t.Fatal(err)
	}
	m := face.Metrics()
	w, h := font.MeasureString(face, s).Ceil()+4, (m.Ascent+m.Descent).Ceil()+4
	text := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(text, text.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: text, Src: image.NewUniform(color.RGBA{51, 51, 51, 255}), Face: face, Dot: fixed.P(2, 2+m.Ascent.Ceil())}
	d.DrawString(s)
	// The inked pixels only: whatever is beside the label in the chart
	// does not matter.
	ink := image.Rectangle{}
	for y := range h {
		for x := range w {
			if text.RGBAAt(x, y) != (color.RGBA{255, 255, 255, 255}) {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	text = text.SubImage(ink).(*image.RGBA)
	pic := image.NewRGBA(img.Bounds())
	draw.Draw(pic, pic.Bounds(), img, img.Bounds().Min, draw.Src)
	row := func(m *image.RGBA, x, y int) []byte {
		i := m.PixOffset(x, y)
		return m.Pix[i : i+4*ink.Dx()]
	}
	b := pic.Bounds()
	for y := b.Min.Y; y+ink.Dy() <= b.Max.Y; y++ {
	at:
		for x := b.Min.X; x+ink.Dx() <= b.Max.X; x++ {
			for ty := range ink.Dy() {
				if !bytes.Equal(row(pic, x, y+ty), row(text, ink.Min.X, ink.Min.Y+ty)) {
					continue at
				}
			}
			return true
		}
	}
	return false
}

// clientHosts is Commvault's view of a week: a node per client host,
// twice a day; the first few hosts are busy, the rest have a session or two.
func clientHosts(to time.Time, nodes, busy int) []store.NodeCount {
	var counts []store.NodeCount
	for h := 0; h < 7*24; h += 12 {
		for i := range nodes {
			n := 1 + (i+h/12)%2
			if i < busy {
				n = 10 + 6*i + h/12%3
			}
			counts = append(counts, store.NodeCount{Report: "stale", At: to.Add(-time.Duration(h) * time.Hour),
				Instance: "commvault", Node: fmt.Sprintf("client%03d.corp.example.com", i), Sessions: n})
		}
	}
	return counts
}

func TestManyNodesFoldIntoOneSummedLine(t *testing.T) {
	to := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	host := func(i int) string { return fmt.Sprintf("commvault client%03d.corp.example.com", i) }
	// Eleven nodes as high at their peak, three days ago, and node i
	// with i sessions now.
	var samePeak []store.NodeCount
	for i := range chart.MaxLines + 1 {
		samePeak = append(samePeak,
			store.NodeCount{Report: "stale", At: to.Add(-72 * time.Hour), Instance: "commvault", Node: fmt.Sprintf("client%03d.corp.example.com", i), Sessions: 20},
			store.NodeCount{Report: "stale", At: to, Instance: "commvault", Node: fmt.Sprintf("client%03d.corp.example.com", i), Sessions: i})
	}
	for _, tc := range []struct {
		name   string
		counts []store.NodeCount
		// colors is how many line colours the chart shows: the palette's
		// eight at most, and the summed line's.
		colors          int
		named, notNamed []string
	}{
		{"as many nodes as lines", clientHosts(to, chart.MaxLines, chart.MaxLines), 8, []string{host(0), host(9)}, []string{"other nodes"}},
		{"one node more than lines: the two lowest peaks are summed", clientHosts(to, chart.MaxLines+1, chart.MaxLines+1), 9,
			[]string{host(2), host(10), "2 other nodes, summed"}, []string{host(0), host(1), "right axis"}},
		{"as high a peak: the two lowest now are summed", samePeak, 9,
			[]string{host(2), host(10), "2 other nodes, summed"}, []string{host(0), host(1)}},
		{"hundreds of client hosts, a few busy", clientHosts(to, 300, 9), 9,
			[]string{host(0), host(8), "291 other nodes, summed (right axis)"}, []string{host(9), host(299), "more"}},
		{"a thousand client hosts", clientHosts(to, 1000, 12), 9,
			[]string{host(3), host(11), "991 other nodes, summed (right axis)"}, []string{host(0), host(2), "more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := chart.Render("stale", tc.counts, to.Add(-7*24*time.Hour), to, chart.Width, chart.Height)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := lineColors(img, 100); len(got) != tc.colors {
				t.Errorf("%d line colours %v, want %d", len(got), got, tc.colors)
			}
			for _, s := range tc.named {
				if !shows(t, img, s) {
					t.Errorf("the legend does not name %q", s)
				}
			}
			for _, s := range tc.notNamed {
				if shows(t, img, s) {
					t.Errorf("the legend names %q", s)
				}
			}
		})
	}
}
