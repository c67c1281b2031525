package chart_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/store"
)

// pixels counts the pixels of each colour.
func pixels(img image.Image) map[color.RGBA]int {
	n := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			n[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}]++
		}
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
