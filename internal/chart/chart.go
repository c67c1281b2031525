// Package chart draws a report's recorded session counts: one line per
// node over the last days, as a PNG to attach to a digest or save.
package chart

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sessionbot/sessionbot/store"
)

// Width and Height are the chart's default size in pixels: wide enough for
// a week's dates, legible in a Slack preview.
const (
	Width  = 900
	Height = 420
)

// palette is Okabe and Ito's, told apart by people with colour-blindness;
// after it, lines repeat colours with dashes.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// LineColor is the colour of the i-th line (nodes in instance, node order).
func LineColor(i int) color.RGBA { return palette[i%len(palette)] }

type series struct {
	instance, node string
	points         plotter.XYs
}

// Render draws counts between from and to as a width x height PNG.
func Render(report string, counts []store.NodeCount, from, to time.Time, width, height int) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Open sessions per node: %s, %s to %s UTC", report, from.UTC().Format("Jan 2"), to.UTC().Format("Jan 2 15:04"))
	p.Y.Label.Text = "open sessions"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	p.X.Min, p.X.Max = float64(from.Unix()), float64(to.Unix())
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true

	byNode := map[[2]string]*series{}
	for _, c := range counts {
		if c.At.Before(from) || c.At.After(to) {
			continue
		}
		k := [2]string{c.Instance, c.Node}
		s := byNode[k]
		if s == nil {
			s = &series{instance: c.Instance, node: c.Node}
			byNode[k] = s
		}
		s.points = append(s.points, plotter.XY{X: float64(c.At.Unix()), Y: float64(c.Sessions)})
	}
	all := make([]*series, 0, len(byNode))
	for _, s := range byNode {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *series) int {
		return cmp.Or(cmp.Compare(a.instance, b.instance), cmp.Compare(a.node, b.node))
	})
	for i, s := range all {
		slices.SortFunc(s.points, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		line, points, err := plotter.NewLinePoints(s.points)
		if err != nil {
			return nil, fmt.Errorf("chart of %s: %w", report, err)
		}
		line.Color, points.Color = LineColor(i), LineColor(i)
		line.Width = vg.Points(2.5)
		if i >= len(palette) {
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(3)
		name := s.node
		if name == "" {
			name = "(no node)"
		}
		p.Add(line, points)
		p.Legend.Add(s.instance+" "+name, line)
		if y := maxY(s.points); y > p.Y.Max {
			p.Y.Max = y
		}
	}
	if p.Y.Max < 1 {
		p.Y.Max = 1
	}
	p.Y.Max *= 1.15 // room for the legend

	// At 72 dpi one point is one pixel, so the PNG is exactly width x
	// height.
	canvas := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	p.Draw(draw.New(canvas))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart of %s: %w", report, err)
	}
	return buf.Bytes(), nil
}

func maxY(xys plotter.XYs) float64 {
	m := 0.0
	for _, p := range xys {
		m = max(m, p.Y)
	}
	return m
}
