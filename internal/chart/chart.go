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

// MaxLines is how many lines a chart draws at most. Past the palette's
// eight colours lines repeat them dashed, and past about ten a reader can
// no longer tell one from another nor find its legend entry; a Commvault
// digest has a node per client host, hundreds of them. So when a report
// has more nodes, the MaxLines-1 with the highest peak in the period
// (then the highest latest count, then in instance, node order) get a line
// each, and the rest are summed into one line of their own style. The
// digest's text lists every node's count.
const MaxLines = 10

// palette is Okabe and Ito's, told apart by people with colour-blindness;
// after it, lines repeat colours with dashes.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// LineColor is the colour of the i-th line (nodes in instance, node order).
func LineColor(i int) color.RGBA { return palette[i%len(palette)] }

// OthersColor is the summed line's: a blue-grey, drawn wider and under the
// nodes' own lines. Neither the palette nor text on white makes it.
var OthersColor = color.RGBA{150, 160, 172, 255}

// style is how a line is drawn.
type style struct {
	col    color.RGBA
	width  float64
	dashed bool
}

func lineStyle(i int) style { return style{LineColor(i), lineWidth, i >= len(palette)} }

var othersStyle = style{OthersColor, 5, false}

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
	summed         int     // nodes added up into this line, if more than one
	rightAxis      bool    // drawn to the scale of the axis on the right
}

func (s *series) label() string {
	if s.summed > 0 {
		if s.rightAxis {
			return fmt.Sprintf("%d other nodes, summed (right axis)", s.summed)
		}
		return fmt.Sprintf("%d other nodes, summed", s.summed)
	}
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
	lines, others := fold(all)
	ymax, ymaxOthers := 0.0, 0.0
	for _, s := range lines {
		ymax = max(ymax, peak(s))
	}
	if others != nil {
		// Hundreds of nodes summed would squash the nodes' own lines
		// against the bottom: when the sum rises above them, it gets its
		// own scale.
		ymaxOthers = peak(others)
		if ymaxOthers > ymax {
			others.rightAxis = true
		} else {
			ymax = max(ymax, ymaxOthers)
		}
	}
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, width, height)), ras: &vector.Rasterizer{}, text: text}
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)

	y := margin + lineHeight(title)
	c.write(title, ink, fmt.Sprintf("Open sessions per node: %s, %s to %s UTC", report, from.UTC().Format("Jan 2"), to.UTC().Format("Jan 2 15:04")), margin, y)

	// The legend sits above the lines, never over them, in at most a
	// quarter of the chart's height; the summed line keeps its entry.
	labels := make([]string, len(lines))
	for i, s := range lines {
		labels[i] = s.label()
	}
	last := ""
	if others != nil {
		last = others.label()
	}
	rowHeight := lineHeight(text) + 4
	leg := layoutLegend(text, labels, last, margin, width-margin, y+8, rowHeight, max(1, height/4/rowHeight))
	y += 8 + leg.rows*rowHeight

	// Then the y axis' name, and the axes below it.
	y += 8 + lineHeight(text)
	c.write(text, ink, "open sessions", margin, y)
	right := 0.0
	if others != nil && others.rightAxis {
		right = ymaxOthers
		name := "other nodes, summed"
		c.write(text, ink, name, width-margin-textWidth(text, name), y)
	}
	fr, ok := c.axes(from, to, ymax, right, y+10, height-margin-lineHeight(text)-tickLength, width-margin)
	if !ok {
		return nil, fmt.Errorf("chart of %s: %d nodes leave no room for their lines in %dx%d pixels", report, len(all), width, height)
	}

	if len(all) == 0 {
		note := "no counts recorded in this period yet"
		c.write(text, faint, note, (fr.left+fr.right-textWidth(text, note))/2, (fr.top+fr.bottom)/2)
	}
	// The summed line goes first, under the nodes' own.
	if others != nil {
		fo := fr
		if others.rightAxis {
			fo.ymax = fr.ymaxRight
		}
		c.series(fo, others, othersStyle, leg.last, true)
	}
	for i, s := range lines {
		var e image.Point
		inLegend := i < len(leg.entries)
		if inLegend {
			e = leg.entries[i]
		}
		c.series(fr, s, lineStyle(i), e, inLegend)
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

// fold returns the nodes that get a line of their own, in instance, node
// order, and the rest summed into one line (nil if none are left): at
// most MaxLines lines, and never one node folded alone.
func fold(all []*series) ([]*series, *series) {
	if len(all) <= MaxLines {
		return all, nil
	}
	latest := func(s *series) float64 { return s.points[len(s.points)-1].y }
	ranked := slices.Clone(all) // all is in instance, node order: the last tie-break
	slices.SortStableFunc(ranked, func(a, b *series) int {
		return cmp.Or(cmp.Compare(peak(b), peak(a)), cmp.Compare(latest(b), latest(a)))
	})
	kept, rest := ranked[:MaxLines-1], ranked[MaxLines-1:]
	slices.SortFunc(kept, func(a, b *series) int {
		return cmp.Or(cmp.Compare(a.instance, b.instance), cmp.Compare(a.node, b.node))
	})
	sum := map[float64]float64{}
	for _, s := range rest {
		for _, p := range s.points {
			sum[p.x] += p.y
		}
	}
	others := &series{summed: len(rest)}
	for x, y := range sum {
		others.points = append(others.points, point{x, y})
	}
	slices.SortFunc(others.points, func(a, b point) int { return cmp.Compare(a.x, b.x) })
	return kept, others
}

func peak(s *series) float64 {
	m := 0.0
	for _, p := range s.points {
		m = max(m, p.y)
	}
	return m
}

// legend is where each entry's line sample starts, on its text's
// baseline, the note of the nodes left out and the summed line's entry.
type legend struct {
	entries []image.Point
	more    string
	moreAt  image.Point
	last    image.Point
	rows    int
}

// layoutLegend places an entry per label, then one for last if it is not
// empty, in rows between left and right, the first baseline a row below
// top; when they take more than maxRows, the labels' last ones give way to
// a note of how many are left out, and last keeps its entry.
func layoutLegend(face font.Face, labels []string, last string, left, right, top, rowHeight, maxRows int) legend {
	entryWidth := func(s string) int { return int(sampleLen) + 6 + textWidth(face, s) }
	widths := make([]int, len(labels))
	for i, s := range labels {
		widths[i] = entryWidth(s)
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
		if last != "" {
			l.last = place(entryWidth(last))
		}
		if l.rows <= maxRows || shown == 0 {
			return l
		}
	}
}

// frame is the plotting area in pixels and the period and counts it
// spans, on the left axis and on the right one if any.
type frame struct {
	left, right, top, bottom  int
	from, to, ymax, ymaxRight float64
}

// at is where a point (unix seconds, sessions) is drawn.
func (f frame) at(p point) point {
	return point{
		float64(f.left) + (p.x-f.from)/(f.to-f.from)*float64(f.right-f.left),
		float64(f.bottom) - p.y/f.ymax*float64(f.bottom-f.top),
	}
}

// axes draws the axes, their ticks, labels and grid for counts up to ymax
// on the left and, if ymaxRight is not 0, up to it on the right, and
// returns the frame inside them, or false if it would be too small.
func (c *canvas) axes(from, to time.Time, ymax, ymaxRight float64, top, bottom, right int) (frame, bool) {
	// Whole sessions, a tick at most every 28 pixels, and a little headroom
	// to keep the highest dot inside.
	step := niceStep(ymax*1.05, (bottom-top)/28)
	ymax = max(step, math.Ceil(ymax*1.05/step)*step)
	steps := int(math.Round(ymax / step))
	// The right axis' ticks fall on the left one's grid lines.
	stepRight := 0.0
	if ymaxRight > 0 {
		stepRight = niceStep(ymaxRight*1.05, steps)
		ymaxRight = stepRight * float64(steps)
	}
	labelWidth, rightWidth := 0, 0
	for i := range steps + 1 {
		labelWidth = max(labelWidth, textWidth(c.text, yTickLabel(float64(i)*step)))
		if stepRight > 0 {
			rightWidth = max(rightWidth, textWidth(c.text, yTickLabel(float64(i)*stepRight))+tickLength+4)
		}
	}
	fr := frame{left: margin + labelWidth + tickLength + 4, right: right - rightWidth, top: top, bottom: bottom,
		from: float64(from.Unix()), to: float64(to.Unix()), ymax: ymax, ymaxRight: ymaxRight}
	if fr.right-fr.left < 40 || fr.bottom-fr.top < 40 {
		return fr, false
	}
	for i := range steps + 1 {
		v := float64(i) * step
		py := int(math.Round(fr.at(point{fr.from, v}).y))
		c.fill(image.Rect(fr.left, py, fr.right, py+1), grid)
		c.fill(image.Rect(fr.left-tickLength, py, fr.left, py+1), ink)
		l := yTickLabel(v)
		c.write(c.text, ink, l, fr.left-tickLength-4-textWidth(c.text, l), py+capHeight(c.text)/2)
		if stepRight > 0 {
			c.fill(image.Rect(fr.right, py, fr.right+tickLength, py+1), ink)
			c.write(c.text, ink, yTickLabel(float64(i)*stepRight), fr.right+tickLength+4, py+capHeight(c.text)/2)
		}
	}
	if stepRight > 0 {
		c.fill(image.Rect(fr.right, fr.top, fr.right+1, fr.bottom+1), ink)
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

// series draws a line through s's points in frame fr, a dot on each, and
// its legend entry at e if inLegend, all in one pass of the rasteriser.
func (c *canvas) series(fr frame, s *series, st style, e image.Point, inLegend bool) {
	var sh shapes
	line := make([]point, len(s.points))
	for i, p := range s.points {
		line[i] = fr.at(p)
	}
	sh.stroke(line, st)
	sh.dots = line
	if inLegend {
		mid := float64(e.Y - capHeight(c.text)/2)
		sh.stroke([]point{{float64(e.X), mid}, {float64(e.X) + sampleLen, mid}}, st)
		sh.dots = append(sh.dots, point{float64(e.X) + sampleLen/2, mid})
	}
	c.paint(sh, st.col)
	if inLegend {
		c.write(c.text, ink, s.label(), e.X+int(sampleLen)+6, e.Y)
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

// shapes are what one paint fills: the quadrilaterals of a line's
// segments (or dashes) and its dots. All are wound the same way round, as
// the rasteriser adds up the coverage of overlapping shapes and opposite
// windings would cancel out.
type shapes struct {
	quads [][4]point
	dots  []point
}

// bandSamples bounds the rasteriser's buffers (8 bytes a sample past 512
// pixels a side): a band of rows at a time, 8 MB, whatever the size.
const bandSamples = 1 << 20

// paint fills sh in col, rasterising only the rectangle around it: the
// whole canvas for each line made a chart of 300 nodes take 1.75 s.
func (c *canvas) paint(sh shapes, col color.Color) {
	box := image.Rectangle{}
	grow := func(p point, r float64) {
		box = box.Union(image.Rect(int(math.Floor(p.x-r)), int(math.Floor(p.y-r)), int(math.Ceil(p.x+r))+1, int(math.Ceil(p.y+r))+1))
	}
	for _, q := range sh.quads {
		for _, p := range q {
			grow(p, 0)
		}
	}
	for _, p := range sh.dots {
		grow(p, dotRadius)
	}
	box = box.Intersect(c.img.Bounds())
	if box.Empty() {
		return
	}
	src := image.NewUniform(col)
	rows := max(1, bandSamples/box.Dx())
	for y := box.Min.Y; y < box.Max.Y; y += rows {
		band := image.Rect(box.Min.X, y, box.Max.X, min(y+rows, box.Max.Y))
		c.ras.Reset(band.Dx(), band.Dy())
		o := point{float64(band.Min.X), float64(band.Min.Y)}
		for _, q := range sh.quads {
			c.quad(q, o)
		}
		for _, p := range sh.dots {
			c.dot(point{p.x - o.x, p.y - o.y})
		}
		c.ras.Draw(c.img, band, src, image.Point{})
	}
}

// stroke adds a polyline st.width wide as one quadrilateral per segment
// (or per dash); the dots on its points round the joints.
func (sh *shapes) stroke(line []point, st style) {
	phase := 0.0 // distance into the current dash cycle
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		length := math.Hypot(b.x-a.x, b.y-a.y)
		if length == 0 {
			continue
		}
		if !st.dashed {
			sh.segment(a, b, length, st.width)
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
				sh.segment(along(a, b, d/length), along(a, b, (d+run)/length), run, st.width)
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

func (sh *shapes) segment(a, b point, length, width float64) {
	// n is half the line's width, across it.
	nx, ny := -(b.y-a.y)/length*width/2, (b.x-a.x)/length*width/2
	sh.quads = append(sh.quads, [4]point{{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}})
}

// quad adds q, less o, to the rasteriser.
func (c *canvas) quad(q [4]point, o point) {
	c.ras.MoveTo(float32(q[0].x-o.x), float32(q[0].y-o.y))
	for _, p := range q[1:] {
		c.ras.LineTo(float32(p.x-o.x), float32(p.y-o.y))
	}
	c.ras.ClosePath()
}

// dot adds a circle of dotRadius at p, as four cubic Bézier quarters
// wound the way segment winds its quadrilaterals.
func (c *canvas) dot(p point) {
	const k = 0.5522847498 // control point distance for a quarter circle
	r, kr := dotRadius, dotRadius*k
	f := func(v float64) float32 { return float32(v) }
	c.ras.MoveTo(f(p.x+r), f(p.y))
	c.ras.CubeTo(f(p.x+r), f(p.y-kr), f(p.x+kr), f(p.y-r), f(p.x), f(p.y-r))
	c.ras.CubeTo(f(p.x-kr), f(p.y-r), f(p.x-r), f(p.y-kr), f(p.x-r), f(p.y))
	c.ras.CubeTo(f(p.x-r), f(p.y+kr), f(p.x-kr), f(p.y+r), f(p.x), f(p.y+r))
	c.ras.CubeTo(f(p.x+kr), f(p.y+r), f(p.x+r), f(p.y+kr), f(p.x+r), f(p.y))
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
