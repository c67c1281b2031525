package chart_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/store"
)

// pixelsOf counts the pixels of exactly c.
func pixelsOf(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r == r0 && g == g0 && b == b0 {
				n++
			}
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
			for i := range 4 {
				n := pixelsOf(img, chart.LineColor(i))
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
