// Package chart draws a report's recorded session counts: one line per
// node over the last days, as a PNG to attach to a digest or save.
//
// golang.org/x/image does the drawing: its vector rasteriser fills the
// lines and dots, opentype sets the text in the Go font, on the standard
// image package. gonum/plot drew it before, but its plot package loads
// twelve Liberation fonts in an init (4.6 MiB the linker cannot drop) and
// its drawing stack weighs 1.5 MiB more: with them the image was 33 MiB,
// over the 30 MiB it must stay under; this costs 0.5 MiB.
package chart

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/sessionbot/sessionbot/store"
)

// Width and Height are the chart's default size in pixels: wide enough for
// a week's dates, legible in a Slack preview.
const (
	Width  = 900
	Height = 420
)

// The sizes Render accepts: below the minimum the labels leave no room for
// the lines. MaxSide is past a 4K screen's width (3840), and a Slack
// preview shows far less: a 4000x4000 chart holds 64 MB of pixels, where
// an 8000x8000 one took 0.7 GB.
const (
	MinWidth, MinHeight = 320, 200
	MaxSide             = 4000
)

// CheckSize says why Render would refuse a width x height chart, if it would.
func CheckSize(width, height int) error {
	if width < MinWidth || height < MinHeight || width > MaxSide || height > MaxSide {
		return fmt.Errorf("a chart of %dx%d pixels: the width must be from %d to %d and the height from %d to %d",
			width, height, MinWidth, MaxSide, MinHeight, MaxSide)
	}
	return nil
}

// palette is Okabe and Ito's, told apart by people with colour-blindness;
// after it, lines repeat colours with dashes.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// LineColor is the colour of the i-th line (nodes in instance, node order).
func LineColor(i int) color.RGBA { return palette[i%len(palette)] }

var (
	ink   = color.RGBA{51, 51, 51, 255}    // text and axes
	faint = color.RGBA{110, 110, 110, 255} // the note on an empty chart
	grid  = color.RGBA{230, 230, 230, 255}
)

// Line and dot sizes in pixels, and the dashes of lines past the palette.
const (
	lineWidth  = 2.5
	dotRadius  = 3.0
	dashOn     = 8.0
	dashOff    = 4.0
	sampleLen  = 26.0 // a legend entry's line
	margin     = 14
	tickLength = 5
)

// goFont is parsed once; each Render makes its own faces, since a face is
// not safe for concurrent use and digests of several reports may draw at
// once.
var goFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) })

type point struct{ x, y float64 }

type series struct {
	instance, node string
	points         []point // unix seconds, sessions
}

func (s *series) label() string {
	if s.node == "" {
		return s.instance + " (no node)"
	}
	return s.instance + " " + s.node
}

// Render draws counts between from and to as a width x height PNG.
func Render(report string, counts []store.NodeCount, from, to time.Time, width, height int) ([]byte, error) {
	if err := CheckSize(width, height); err != nil {
		return nil, fmt.Errorf("chart of %s: %w", report, err)
	}
	if !to.After(from) {
		return nil, fmt.Errorf("chart of %s: the period ends (%s) before it starts (%s)", report, to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	f, err := goFont()
	if err != nil {
		return nil, fmt.Errorf("chart of %s: the Go font: %w", report, err)
	}
	text, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 13, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("chart of %s: %w", report, err)
	}
	title, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 16, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("chart of %s: %w", report, err)
	}

	all := group(counts, from, to)
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, width, height)), ras: vector.NewRasterizer(width, height), text: text}
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)

	y := margin + lineHeight(title)
	c.write(title, ink, fmt.Sprintf("Open sessions per node: %s, %s to %s UTC", report, from.UTC().Format("Jan 2"), to.UTC().Format("Jan 2 15:04")), margin, y)

	// The legend sits above the lines, never over them, in at most a
	// quarter of the chart's height.
	labels := make([]string, len(all))
	for i, s := range all {
		labels[i] = s.label()
	}
	rowHeight := lineHeight(text) + 4
	leg := layoutLegend(text, labels, margin, width-margin, y+8, rowHeight, max(1, height/4/rowHeight))
	y += 8 + leg.rows*rowHeight

	// Then the y axis' name, and the axes below it.
	y += 8 + lineHeight(text)
	c.write(text, ink, "open sessions", margin, y)
	ymax := 0.0
	for _, s := range all {
		for _, p := range s.points {
			ymax = max(ymax, p.y)
		}
	}
	fr, ok := c.axes(from, to, ymax, y+10, height-margin-lineHeight(text)-tickLength, width-margin)
	if !ok {
		return nil, fmt.Errorf("chart of %s: %d nodes leave no room for their lines in %dx%d pixels", report, len(all), width, height)
	}

	if len(all) == 0 {
		note := "no counts recorded in this period yet"
		c.write(text, faint, note, (fr.left+fr.right-textWidth(text, note))/2, (fr.top+fr.bottom)/2)
	}
	for i, s := range all {
		var line []point
		for _, p := range s.points {
			line = append(line, fr.at(p))
		}
		c.series(line, i, leg, s.label())
	}
	if leg.more != "" {
		c.write(text, ink, leg.more, leg.moreAt.X, leg.moreAt.Y)
	}

	var buf bytes.Buffer
	if err := png.Encode(&buf, c.img); err != nil {
		return nil, fmt.Errorf("chart of %s: %w", report, err)
	}
	return buf.Bytes(), nil
}

// group returns one series per node with its counts between from and to,
// nodes in instance, node order and points in time order.
func group(counts []store.NodeCount, from, to time.Time) []*series {
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
		s.points = append(s.points, point{float64(c.At.Unix()), float64(c.Sessions)})
	}
	all := make([]*series, 0, len(byNode))
	for _, s := range byNode {
		slices.SortFunc(s.points, func(a, b point) int { return cmp.Compare(a.x, b.x) })
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *series) int {
		return cmp.Or(cmp.Compare(a.instance, b.instance), cmp.Compare(a.node, b.node))
	})
	return all
}

// legend is where each entry's line sample starts, on its text's
// baseline, and the note of the nodes left out.
type legend struct {
	entries []image.Point
	more    string
	moreAt  image.Point
	rows    int
}

// layoutLegend places an entry per label in rows between left and right,
// the first baseline a row below top; when they take more than maxRows,
// the last ones give way to a note of how many are left out.
func layoutLegend(face font.Face, labels []string, left, right, top, rowHeight, maxRows int) legend {
	widths := make([]int, len(labels))
	for i, s := range labels {
		widths[i] = int(sampleLen) + 6 + textWidth(face, s)
	}
	for shown := len(labels); ; shown-- {
		var l legend
		x, y := right, top // the first entry opens a row
		place := func(w int) image.Point {
			if x+w > right && x > left {
				x, y = left, y+rowHeight
				l.rows++
			}
			p := image.Pt(x, y)
			x += w + 18
			return p
		}
		for _, w := range widths[:shown] {
			l.entries = append(l.entries, place(w))
		}
		if shown < len(labels) {
			l.more = fmt.Sprintf("and %d more", len(labels)-shown)
			l.moreAt = place(textWidth(face, l.more))
		}
		if l.rows <= maxRows || shown == 0 {
			return l
		}
	}
}

// frame is the plotting area in pixels and the period and counts it spans.
type frame struct {
	left, right, top, bottom int
	from, to, ymax           float64
}

// at is where a point (unix seconds, sessions) is drawn.
func (f frame) at(p point) point {
	return point{
		float64(f.left) + (p.x-f.from)/(f.to-f.from)*float64(f.right-f.left),
		float64(f.bottom) - p.y/f.ymax*float64(f.bottom-f.top),
	}
}

// axes draws the axes, their ticks, labels and grid for counts up to ymax,
// and returns the frame inside them, or false if it would be too small.
func (c *canvas) axes(from, to time.Time, ymax float64, top, bottom, right int) (frame, bool) {
	// Whole sessions, a tick at most every 28 pixels, and a little headroom
	// to keep the highest dot inside.
	step := niceStep(ymax*1.05, (bottom-top)/28)
	ymax = max(step, math.Ceil(ymax*1.05/step)*step)
	var yTicks []float64
	for v := 0.0; v <= ymax+step/2; v += step {
		yTicks = append(yTicks, v)
	}
	labelWidth := 0
	for _, v := range yTicks {
		labelWidth = max(labelWidth, textWidth(c.text, yTickLabel(v)))
	}
	fr := frame{left: margin + labelWidth + tickLength + 4, right: right, top: top, bottom: bottom,
		from: float64(from.Unix()), to: float64(to.Unix()), ymax: ymax}
	if fr.right-fr.left < 40 || fr.bottom-fr.top < 40 {
		return fr, false
	}
	for _, v := range yTicks {
		py := int(math.Round(fr.at(point{fr.from, v}).y))
		c.fill(image.Rect(fr.left, py, fr.right, py+1), grid)
		c.fill(image.Rect(fr.left-tickLength, py, fr.left, py+1), ink)
		l := yTickLabel(v)
		c.write(c.text, ink, l, fr.left-tickLength-4-textWidth(c.text, l), py+capHeight(c.text)/2)
	}
	for _, t := range timeTicks(c.text, from, to, fr.right-fr.left) {
		px := int(math.Round(fr.at(point{float64(t.at.Unix()), 0}).x))
		c.fill(image.Rect(px, fr.top, px+1, fr.bottom), grid)
		c.fill(image.Rect(px, fr.bottom, px+1, fr.bottom+tickLength), ink)
		w := textWidth(c.text, t.label)
		lx := min(max(px-w/2, 0), c.img.Bounds().Dx()-w)
		c.write(c.text, ink, t.label, lx, fr.bottom+tickLength+lineHeight(c.text)-2)
	}
	c.fill(image.Rect(fr.left, fr.top, fr.left+1, fr.bottom+1), ink)
	c.fill(image.Rect(fr.left, fr.bottom, fr.right, fr.bottom+1), ink)
	return fr, true
}

// series draws the i-th node's line through its points, a dot on each, and
// its legend entry if the legend has room for it.
func (c *canvas) series(line []point, i int, leg legend, label string) {
	dashed := i >= len(palette)
	col := LineColor(i)
	var e image.Point
	inLegend := i < len(leg.entries)
	if inLegend {
		e = leg.entries[i]
	}
	mid := float64(e.Y - capHeight(c.text)/2)
	// Lines and dots go through the rasteriser in separate passes: it adds
	// up the coverage of overlapping shapes, which is right only among
	// shapes drawn the same way round.
	c.stroke(line, dashed)
	if inLegend {
		c.stroke([]point{{float64(e.X), mid}, {float64(e.X) + sampleLen, mid}}, dashed)
	}
	c.paint(col)
	for _, p := range line {
		c.dot(p)
	}
	if inLegend {
		c.dot(point{float64(e.X) + sampleLen/2, mid})
	}
	c.paint(col)
	if inLegend {
		c.write(c.text, ink, label, e.X+int(sampleLen)+6, e.Y)
	}
}

// niceStep is the smallest of 1, 2, 5, 10, 20, 50, ... that divides 0 to
// ymax into at most n steps: counts are whole sessions.
func niceStep(ymax float64, n int) float64 {
	n = max(n, 1)
	for step := 1.0; ; step *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if math.Ceil(ymax/(m*step)) <= float64(n) {
				return m * step
			}
		}
	}
}

func yTickLabel(v float64) string { return fmt.Sprintf("%.0f", v) }

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks marks whole days (or hours, on a short period) in UTC, as many
// as fit side by side in width pixels.
func timeTicks(face font.Face, from, to time.Time, width int) []timeTick {
	from, to = from.UTC(), to.UTC()
	for _, step := range []time.Duration{time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour} {
		layout := "Jan 2"
		if step < 24*time.Hour {
			layout = "Jan 2 15:04"
		}
		var ticks []timeTick
		widest := 0
		for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
			if t.Before(from) {
				continue
			}
			l := t.Format(layout)
			ticks = append(ticks, timeTick{t, l})
			widest = max(widest, textWidth(face, l))
		}
		if len(ticks)*(widest+24) <= width {
			return ticks
		}
	}
	return nil
}

// canvas is an image, a rasteriser for the shapes drawn on it and the
// face of its labels.
type canvas struct {
	img  *image.RGBA
	ras  *vector.Rasterizer
	text font.Face
}

func (c *canvas) fill(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// paint fills the shapes added since the last paint.
func (c *canvas) paint(col color.Color) {
	c.ras.Draw(c.img, c.img.Bounds(), image.NewUniform(col), image.Point{})
	c.ras.Reset(c.img.Bounds().Dx(), c.img.Bounds().Dy())
}

// stroke adds a polyline lineWidth wide as one rectangle per segment (or
// per dash); the dots on its points round the joints.
func (c *canvas) stroke(line []point, dashed bool) {
	phase := 0.0 // distance into the current dash cycle
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		length := math.Hypot(b.x-a.x, b.y-a.y)
		if length == 0 {
			continue
		}
		if !dashed {
			c.segment(a, b, length)
			continue
		}
		for d := 0.0; d < length; {
			on := phase < dashOn
			end := dashOn
			if !on {
				end = dashOn + dashOff
			}
			run := min(end-phase, length-d)
			if on {
				c.segment(along(a, b, d/length), along(a, b, (d+run)/length), run)
			}
			d += run
			phase += run
			if phase >= dashOn+dashOff {
				phase = 0
			}
		}
	}
}

func along(a, b point, t float64) point { return point{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }

func (c *canvas) segment(a, b point, length float64) {
	// n is half the line's width, across it.
	nx, ny := -(b.y-a.y)/length*lineWidth/2, (b.x-a.x)/length*lineWidth/2
	c.ras.MoveTo(float32(a.x+nx), float32(a.y+ny))
	c.ras.LineTo(float32(b.x+nx), float32(b.y+ny))
	c.ras.LineTo(float32(b.x-nx), float32(b.y-ny))
	c.ras.LineTo(float32(a.x-nx), float32(a.y-ny))
	c.ras.ClosePath()
}

// dot adds a circle of dotRadius at p, as four cubic Bézier quarters.
func (c *canvas) dot(p point) {
	const k = 0.5522847498 // control point distance for a quarter circle
	r, kr := dotRadius, dotRadius*k
	f := func(v float64) float32 { return float32(v) }
	c.ras.MoveTo(f(p.x+r), f(p.y))
	c.ras.CubeTo(f(p.x+r), f(p.y+kr), f(p.x+kr), f(p.y+r), f(p.x), f(p.y+r))
	c.ras.CubeTo(f(p.x-kr), f(p.y+r), f(p.x-r), f(p.y+kr), f(p.x-r), f(p.y))
	c.ras.CubeTo(f(p.x-r), f(p.y-kr), f(p.x-kr), f(p.y-r), f(p.x), f(p.y-r))
	c.ras.CubeTo(f(p.x+kr), f(p.y-r), f(p.x+r), f(p.y-kr), f(p.x+r), f(p.y))
	c.ras.ClosePath()
}

// write draws s with its baseline's left end at x, y.
func (c *canvas) write(face font.Face, col color.Color, s string, x, y int) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(face font.Face, s string) int { return font.MeasureString(face, s).Ceil() }

func lineHeight(face font.Face) int { return face.Metrics().Height.Ceil() }

func capHeight(face font.Face) int { return face.Metrics().CapHeight.Ceil() }
