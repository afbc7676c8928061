// Command oracle writes call pairs (scripts/oracles/README.md) for the Go packages under
// ROOT, answered by go/types.
//
//	oracle -root ROOT -out OUT [-prefix IMPORT/PATH] [-stdlib] [-gopath DIR]...
//
// Every directory under ROOT holding .go files is a package whose import path is
// prefix + its path relative to ROOT. It is type-checked from source with its in-package
// _test.go files; its external tests (package x_test) are checked as a package of their own.
// Imports resolve to ROOT first, then to GOROOT/src (and GOROOT/src/vendor), then to each
// -gopath src directory; those dependencies are checked from source without function
// bodies. Type errors (missing third-party imports, files for other platforms) are counted
// and ignored: go/types keeps going and whatever still resolves is written.
//
// Answers: every *ast.CallExpr whose callee is an identifier or selector (f[T] included)
// that go/types resolves to a *types.Func (conversions, builtins and func values are not
// answered). Its line is the call's first line (where codegraph puts it too); targets are
// the function's name, plus for an interface method (when the interface or the method is
// declared in ROOT) the methods of every named type in ROOT that implements it, plus the
// same function (or implementing method) in sibling files left out by build constraints. A callee outside ROOT is
// `external`. Embedded fields and embedded interfaces give `inherits` pairs.
//
// Standard library only; build with GO111MODULE=off.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type target struct {
	Path string `json:"path"`
	Line int    `json:"line"`
}

type pair struct {
	Edge     string   `json:"edge"`
	Path     string   `json:"path"`
	Line     int      `json:"line"`
	Name     string   `json:"name"`
	Targets  []target `json:"targets"`
	External bool     `json:"external"`
	How      string   `json:"how,omitempty"` // GO_ORACLE_DEBUG=1: what kind of call, for reading misses
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// A root package as checked: its files (in-package tests included) and what go/types said.
type rootPkg struct {
	pkg   *types.Package
	files []*ast.File
	info  *types.Info
}

type oracle struct {
	root    string // absolute, cleaned
	prefix  string // import path of ROOT ("" for a GOROOT/src-like tree)
	stdlib  bool
	gopaths []string
	goroot  string

	fset  *token.FileSet
	ctxt  build.Context
	sizes types.Sizes

	parsed   map[string]*ast.File // file name -> AST (nil when it did not parse)
	pkgs     map[string]*types.Package
	inFlight map[string]bool
	roots    map[string]*rootPkg // import path -> root package (with its in-package tests)
	checked  []*rootPkg          // every root unit, xtests and lone files included
	stack    []string            // packages being checked, outermost first
	later    []func()            // external tests and lone files, checked after the packages

	implCache    map[string][]target
	variants     map[variantKey][]target // functions in files build constraints left out
	debug        bool
	allFiles     bool
	indexable    map[string]bool   // file -> codegraph's default filter keeps it
	notIndexed   int               // files under ROOT the indexer skips: not answered
	partialSites int               // calls left out: another call of that name on that line has no answer
	named        []*types.TypeName // non-generic, non-interface named types declared in ROOT

	// counters for the summary
	parseErrors, typeErrors, importErrors, skippedFiles, cycles, panics int
	nPkgs                                                               int
}

func main() {
	var o oracle
	var out string
	var gopaths multiFlag
	flag.StringVar(&o.root, "root", "", "directory to answer for")
	flag.StringVar(&out, "out", "", "pairs file to write")
	flag.StringVar(&o.prefix, "prefix", "", "import path of ROOT")
	flag.BoolVar(&o.stdlib, "stdlib", false, "ROOT is (part of) GOROOT/src")
	flag.Var(&gopaths, "gopath", "a GOPATH src directory (repeatable)")
	flag.BoolVar(&o.allFiles, "all-files", false, "answer for generated and vendored files too")
	flag.Parse()
	if o.root == "" || out == "" {
		flag.Usage()
		os.Exit(2)
	}
	abs, err := filepath.Abs(o.root)
	if err != nil {
		fatal(err)
	}
	o.root = filepath.Clean(abs)
	o.gopaths = gopaths
	o.ctxt = build.Default
	o.ctxt.CgoEnabled = false // pure-Go file sets (net, os/user): nothing imports "C"
	o.goroot = o.ctxt.GOROOT
	o.sizes = types.SizesFor("gc", o.ctxt.GOARCH)
	o.fset = token.NewFileSet()
	o.parsed = map[string]*ast.File{}
	o.pkgs = map[string]*types.Package{}
	o.inFlight = map[string]bool{}
	o.roots = map[string]*rootPkg{}
	o.implCache = map[string][]target{}
	o.variants = map[variantKey][]target{}
	o.debug = os.Getenv("GO_ORACLE_DEBUG") != ""
	o.indexable = map[string]bool{}

	f, err := os.Create(out)
	if err != nil {
		fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	n := o.run(enc)
	if err := w.Flush(); err != nil {
		fatal(err)
	}
	f.Close()
	fmt.Fprintf(os.Stderr, "go oracle: %d pairs, %d packages; %d files did not parse, %d skipped (build constraints), "+
		"%d not answered (generated or vendored, as codegraph skips them), "+
		"%d calls left out (a call of the same name on the line has no static callee), "+
		"%d type errors ignored, %d failed imports, %d import cycles, %d checker panics\n",
		n, o.nPkgs, o.parseErrors, o.skippedFiles, o.notIndexed, o.partialSites, o.typeErrors, o.importErrors, o.cycles, o.panics)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "go oracle:", err)
	os.Exit(1)
}

// ---------------------------------------------------------------------------------------
// Finding and loading packages

func (o *oracle) inRoot(file string) bool {
	return file == o.root || strings.HasPrefix(file, o.root+string(filepath.Separator))
}

// rootImportPath is the import path of a directory under ROOT.
func (o *oracle) rootImportPath(dir string) string {
	rel, _ := filepath.Rel(o.root, dir)
	rel = filepath.ToSlash(rel)
	switch {
	case rel == ".":
		return o.prefix
	case o.prefix == "":
		return rel
	default:
		return o.prefix + "/" + rel
	}
}

// rootDir is the directory under ROOT for an import path, or "".
func (o *oracle) rootDir(path string) string {
	var rel string
	switch {
	case path == o.prefix:
		rel = "."
	case o.prefix == "":
		rel = path
	case strings.HasPrefix(path, o.prefix+"/"):
		rel = strings.TrimPrefix(path, o.prefix+"/")
	default:
		return ""
	}
	dir := filepath.Join(o.root, filepath.FromSlash(rel))
	if hasGoFiles(dir) {
		return dir
	}
	return ""
}

func hasGoFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

// depDir finds a dependency outside ROOT.
func (o *oracle) depDir(path string) string {
	first := strings.SplitN(path, "/", 2)[0]
	std := !strings.Contains(first, ".")
	cands := []string{}
	if std {
		cands = append(cands, filepath.Join(o.goroot, "src", path))
	}
	cands = append(cands, filepath.Join(o.goroot, "src", "vendor", path))
	for _, gp := range o.gopaths {
		cands = append(cands, filepath.Join(gp, path))
	}
	for _, c := range cands {
		if hasGoFiles(c) {
			return c
		}
	}
	return ""
}

func (o *oracle) parse(name string) *ast.File {
	if f, ok := o.parsed[name]; ok {
		return f
	}
	f, err := parser.ParseFile(o.fset, name, nil, parser.SkipObjectResolution)
	if err != nil {
		o.parseErrors++
		f = nil
	}
	o.parsed[name] = f
	return f
}

func (o *oracle) parseAll(dir string, names []string) []*ast.File {
	var files []*ast.File
	for _, n := range names {
		if f := o.parse(filepath.Join(dir, n)); f != nil {
			files = append(files, f)
		}
	}
	return files
}

// Import implements types.Importer (and ImporterFrom) for every package of the run.
func (o *oracle) Import(path string) (*types.Package, error) {
	return o.ImportFrom(path, "", 0)
}

func (o *oracle) ImportFrom(path, _ string, _ types.ImportMode) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if p, ok := o.pkgs[path]; ok {
		if p == nil {
			return nil, fmt.Errorf("could not import %s", path)
		}
		return p, nil
	}
	if o.inFlight[path] {
		if dir := o.rootDir(path); dir != "" {
			// A package's in-package tests import one whose in-package tests import it
			// back (encoding/json and net/http): that one gets it without its tests.
			if p := o.plainRoot(path, dir); p != nil {
				return p, nil
			}
		}
		o.cycles++
		fmt.Fprintf(os.Stderr, "go oracle: import cycle through %s (checking %s)\n", path, strings.Join(o.stack, " -> "))
		return nil, fmt.Errorf("import cycle through %s", path)
	}
	if dir := o.rootDir(path); dir != "" {
		rp := o.checkRoot(path, dir)
		if rp == nil {
			return nil, fmt.Errorf("could not import %s", path)
		}
		return rp.pkg, nil
	}
	dir := o.depDir(path)
	if dir == "" {
		o.importErrors++
		o.pkgs[path] = nil
		return nil, fmt.Errorf("package %s not found", path)
	}
	bp, err := o.ctxt.ImportDir(dir, 0)
	if err != nil && len(bp.GoFiles) == 0 {
		o.importErrors++
		o.pkgs[path] = nil
		return nil, err
	}
	o.inFlight[path] = true
	o.stack = append(o.stack, path)
	files := o.parseAll(dir, bp.GoFiles)
	conf := types.Config{
		Importer:         o,
		Sizes:            o.sizes,
		IgnoreFuncBodies: true,
		FakeImportC:      true,
		Error:            func(error) {},
	}
	pkg, _ := o.check(&conf, path, files, nil)
	delete(o.inFlight, path)
	o.stack = o.stack[:len(o.stack)-1]
	o.pkgs[path] = pkg
	return pkg, nil
}

// plainRoot checks a package under ROOT without its tests, only for importers that would
// otherwise close a cycle through its in-package tests.
func (o *oracle) plainRoot(path, dir string) *types.Package {
	key := path + " (without tests)"
	if p, ok := o.pkgs[key]; ok || o.inFlight[key] {
		return p
	}
	bp, err := o.ctxt.ImportDir(dir, 0)
	if err != nil && len(bp.GoFiles) == 0 {
		o.pkgs[key] = nil
		return nil
	}
	o.inFlight[key] = true
	conf := types.Config{
		Importer:         o,
		Sizes:            o.sizes,
		IgnoreFuncBodies: true,
		FakeImportC:      true,
		Error:            func(error) {},
	}
	pkg, _ := o.check(&conf, path, o.parseAll(dir, bp.GoFiles), nil)
	delete(o.inFlight, key)
	o.pkgs[key] = pkg
	return pkg
}

// check runs go/types, surviving its panics.
func (o *oracle) check(conf *types.Config, path string, files []*ast.File, info *types.Info) (pkg *types.Package, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			o.panics++
			fmt.Fprintf(os.Stderr, "go oracle: go/types panicked on %s: %v\n", path, r)
			ok = false
		}
	}()
	pkg, _ = conf.Check(path, o.fset, files, info)
	return pkg, true
}

func (o *oracle) newInfo() *types.Info {
	info := &types.Info{
		Uses:       map[*ast.Ident]types.Object{},
		Defs:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	if o.debug {
		info.Types = map[ast.Expr]types.TypeAndValue{}
	}
	return info
}

func (o *oracle) rootConf(imp types.Importer) *types.Config {
	return &types.Config{
		Importer:    imp,
		Sizes:       o.sizes,
		FakeImportC: true,
		Error:       func(error) { o.typeErrors++ },
	}
}

// checkRoot checks a directory under ROOT with its in-package tests; the same package is
// what every importer sees (go test forbids in-package tests from importing dependents).
func (o *oracle) checkRoot(path, dir string) *rootPkg {
	if rp, ok := o.roots[path]; ok {
		return rp
	}
	o.roots[path] = nil
	bp, err := o.ctxt.ImportDir(dir, 0)
	if bp == nil || (err != nil && len(bp.GoFiles)+len(bp.TestGoFiles)+len(bp.XTestGoFiles) == 0) {
		// Not a package for this platform (or several package names): each file alone.
		o.pkgs[path] = nil
		o.later = append(o.later, func() { o.loneFiles(dir, nil) })
		return nil
	}
	o.nPkgs++
	o.inFlight[path] = true
	o.stack = append(o.stack, path)
	names := append(append([]string{}, bp.GoFiles...), bp.TestGoFiles...)
	rp := &rootPkg{files: o.parseAll(dir, names), info: o.newInfo()}
	pkg, ok := o.check(o.rootConf(o), path, rp.files, rp.info)
	delete(o.inFlight, path)
	o.stack = o.stack[:len(o.stack)-1]
	if !ok || pkg == nil {
		o.pkgs[path] = nil
		return nil
	}
	rp.pkg = pkg
	o.pkgs[path] = pkg
	o.roots[path] = rp
	o.checked = append(o.checked, rp)

	// External tests and lone files may import what imports this package: they wait
	// until every package is checked.
	o.later = append(o.later, func() {
		if len(bp.XTestGoFiles) > 0 {
			x := &rootPkg{files: o.parseAll(dir, bp.XTestGoFiles), info: o.newInfo()}
			if xp, ok := o.check(o.rootConf(o), path+"_test", x.files, x.info); ok && xp != nil {
				x.pkg = xp
				o.checked = append(o.checked, x)
			}
		}
		o.loneFiles(dir, bp)
	})
	return rp
}

// loneFiles checks the files build constraints left out that belong to another package
// than the directory's (`//go:build ignore` programs, package main generators) one by one.
// Files left out for another GOOS/GOARCH are skipped: checking them with the package would
// resolve their names to the other platform's declarations.
func (o *oracle) loneFiles(dir string, bp *build.Package) {
	var names []string
	if bp != nil {
		names = append(names, bp.IgnoredGoFiles...)
		names = append(names, bp.InvalidGoFiles...)
	} else {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := o.parse(filepath.Join(dir, n))
		if f == nil {
			continue
		}
		if bp != nil && f.Name.Name == bp.Name || bp != nil && f.Name.Name == bp.Name+"_test" {
			o.skippedFiles++
			o.noteVariants(dir, f)
			continue
		}
		rp := &rootPkg{files: []*ast.File{f}, info: o.newInfo()}
		path := o.rootImportPath(dir) + "#" + n
		if p, ok := o.check(o.rootConf(o), path, rp.files, rp.info); ok && p != nil {
			rp.pkg = p
			o.checked = append(o.checked, rp)
		}
	}
}

// noteVariants remembers the functions and methods a file left out by build constraints
// declares: a call of the same function in the files that were checked accepts them too
// (canConvert in assertion_compare_can_convert.go and in assertion_compare_legacy.go).
func (o *oracle) noteVariants(dir string, f *ast.File) {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		recv := ""
		if fd.Recv != nil && len(fd.Recv.List) > 0 {
			recv = typeExprName(fd.Recv.List[0].Type)
		}
		pos := o.fset.Position(fd.Name.Pos())
		if !o.indexed(pos.Filename) {
			continue
		}
		key := variantKey{dir, recv, fd.Name.Name}
		o.variants[key] = append(o.variants[key], target{Path: o.rel(pos.Filename), Line: pos.Line})
	}
}

type variantKey struct{ dir, recv, name string }

// typeExprName: T for T, *T, T[X], pkg.T.
func typeExprName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.SelectorExpr:
			return x.Sel.Name
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

func (o *oracle) variantsOf(fn *types.Func) []target {
	if len(o.variants) == 0 || !fn.Pos().IsValid() {
		return nil
	}
	recv := ""
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			recv = n.Obj().Name()
		} else {
			return nil // interface methods have no variants
		}
	}
	dir := filepath.Dir(o.fset.Position(fn.Pos()).Filename)
	return o.variants[variantKey{dir, recv, fn.Name()}]
}

// The defaults of codegraph's file filter (codegraph-parse/src/filter.rs): the oracle
// answers for the files `codegraph index` reads, and a callee in a file it skips is not a
// definition it could link to.
var (
	vendoredDirs = map[string]bool{"node_modules": true, "bower_components": true, "jspm_packages": true,
		"vendor": true, "third_party": true, "third-party": true, "thirdparty": true, "external": true,
		"extern": true, "__pycache__": true, ".git": true, ".hg": true, ".svn": true}
	generatedGlobs   = []string{"*.pb.go", "*.pb.gw.go", "zz_generated*.go", "*_generated.go", "*.generated.*"}
	generatedMarkers = []string{"@generated", "do not edit", "code generated by", "<auto-generated",
		"this file was automatically generated", "this file is automatically generated",
		"autogenerated by", "auto-generated by"}
)

const maxFileSize = 2 * 1024 * 1024

func (o *oracle) indexed(file string) bool {
	if o.allFiles {
		return true
	}
	if ok, seen := o.indexable[file]; seen {
		return ok
	}
	ok := o.filterKeeps(file)
	o.indexable[file] = ok
	return ok
}

func (o *oracle) filterKeeps(file string) bool {
	rel := o.rel(file)
	parts := strings.Split(rel, "/")
	for _, dir := range parts[:len(parts)-1] {
		if vendoredDirs[dir] {
			return false
		}
	}
	base := parts[len(parts)-1]
	for _, g := range generatedGlobs {
		if ok, _ := filepath.Match(g, base); ok {
			return false
		}
	}
	data, err := os.ReadFile(file)
	if err != nil || len(data) > maxFileSize {
		return false
	}
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	if strings.IndexByte(string(head), 0) >= 0 {
		return false
	}
	if len(head) > 1024 {
		head = head[:1024]
	}
	lower := strings.ToLower(string(head))
	for _, m := range generatedMarkers {
		if strings.Contains(lower, m) {
			return false
		}
	}
	return true
}

// rootDirs lists every directory under ROOT holding .go files (hidden ones left out).
func (o *oracle) rootDirs() []string {
	var dirs []string
	filepath.WalkDir(o.root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			base := d.Name()
			// Unlike the go tool, testdata/ and _dirs are kept: codegraph indexes them.
			if p != o.root && strings.HasPrefix(base, ".") {
				return filepath.SkipDir
			}
			if hasGoFiles(p) {
				dirs = append(dirs, p)
			}
		}
		return nil
	})
	return dirs
}

// ---------------------------------------------------------------------------------------
// Answers

func (o *oracle) run(enc *json.Encoder) int {
	for _, dir := range o.rootDirs() {
		o.checkRoot(o.rootImportPath(dir), dir)
	}
	for _, f := range o.later {
		f()
	}
	// Named types declared in ROOT, for the implementations of an interface method.
	seen := map[types.Object]bool{}
	for _, rp := range o.checked {
		for _, obj := range rp.info.Defs {
			tn, ok := obj.(*types.TypeName)
			if !ok || seen[tn] || tn.IsAlias() || !o.inRoot(o.fset.Position(tn.Pos()).Filename) {
				continue
			}
			seen[tn] = true
			named, ok := tn.Type().(*types.Named)
			if !ok || named.TypeParams().Len() > 0 || types.IsInterface(named) {
				continue
			}
			o.named = append(o.named, tn)
		}
	}
	sort.Slice(o.named, func(i, j int) bool { return o.named[i].Pos() < o.named[j].Pos() })

	n := 0
	done := map[string]bool{} // a file checked twice (never expected) is answered once
	for _, rp := range o.checked {
		for _, f := range rp.files {
			name := o.fset.Position(f.Pos()).Filename
			if done[name] || !o.inRoot(name) {
				continue
			}
			done[name] = true
			if !o.indexed(name) {
				o.notIndexed++
				continue
			}
			for _, p := range o.answer(rp, f) {
				enc.Encode(p)
				n++
			}
		}
	}
	return n
}

func (o *oracle) rel(file string) string {
	r, err := filepath.Rel(o.root, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(r)
}

// spot is where an object is declared, when that is in ROOT.
func (o *oracle) spot(obj types.Object) (target, bool) {
	if obj == nil || !obj.Pos().IsValid() {
		return target{}, false
	}
	pos := o.fset.Position(obj.Pos())
	if !o.inRoot(pos.Filename) || !o.indexed(pos.Filename) {
		return target{}, false
	}
	return target{Path: o.rel(pos.Filename), Line: pos.Line}, true
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func (o *oracle) answer(rp *rootPkg, f *ast.File) []pair {
	var out []pair
	path := o.rel(o.fset.Position(f.Pos()).Filename)
	var origins map[types.Object]string
	if o.debug {
		origins = o.origins(rp, f)
	}
	type site struct {
		line int
		name string
	}
	unknown := map[site]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			p, status := o.call(rp, path, n)
			switch status {
			case answered:
				if o.debug {
					p.How = o.how(rp, n, origins)
				}
				out = append(out, p)
			case unanswered:
				unknown[site{p.Line, p.Name}] = true
			}
		case *ast.TypeSpec:
			out = append(out, o.embeds(rp, path, n)...)
		}
		return true
	})
	if len(unknown) == 0 {
		return out
	}
	// The scorer merges the calls of one name on one line: where one of them has no
	// answer (a func value, or a type error), the others' answer would judge it too.
	kept := out[:0]
	for _, p := range out {
		if p.Edge == "calls" && unknown[site{p.Line, p.Name}] {
			o.partialSites++
			continue
		}
		kept = append(kept, p)
	}
	return kept
}

const (
	notACall   = iota // conversion, builtin, func literal...
	answered          // a function or method
	unanswered        // a func-typed variable or field, or unresolved: no static callee
)

func (o *oracle) call(rp *rootPkg, path string, call *ast.CallExpr) (pair, int) {
	fun := unparen(call.Fun)
	switch x := fun.(type) { // f[T](...): the instantiated function
	case *ast.IndexExpr:
		fun = unparen(x.X)
	case *ast.IndexListExpr:
		fun = unparen(x.X)
	}
	var id *ast.Ident
	var obj types.Object
	var sel *types.Selection
	switch x := fun.(type) {
	case *ast.Ident:
		id, obj = x, rp.info.Uses[x]
	case *ast.SelectorExpr:
		id = x.Sel
		if s, ok := rp.info.Selections[x]; ok {
			sel, obj = s, s.Obj()
		} else {
			obj = rp.info.Uses[x.Sel] // pkg.F
		}
	default:
		return pair{}, notACall
	}
	// The line of the callee's name (README.md), not of the call's start: in a chain
	// split over lines they differ.
	p := pair{Edge: "calls", Path: path, Line: o.fset.Position(id.Pos()).Line, Name: id.Name, Targets: []target{}}
	var fn *types.Func
	switch obj := obj.(type) {
	case *types.Func:
		fn = obj.Origin()
	case *types.TypeName, *types.Builtin: // conversions and builtins are not calls
		return p, notACall
	default: // func values (*types.Var) and what did not type-check (nil)
		return p, unanswered
	}
	if t, ok := o.spot(fn); ok {
		p.Targets = append(p.Targets, t)
	}
	if pos := o.fset.Position(fn.Pos()); o.inRoot(pos.Filename) {
		// Also when the chosen one is in a file the indexer skips (h2_bundle.go).
		p.Targets = append(p.Targets, o.variantsOf(fn)...)
	}
	if iface, inRoot := o.interfaceOf(fn, sel); iface != nil && (inRoot || len(p.Targets) > 0) {
		p.Targets = append(p.Targets, o.implementations(iface, fn)...)
	}
	p.Targets = dedup(p.Targets)
	p.External = len(p.Targets) == 0
	return p, answered
}

// interfaceOf: for a call of an interface method, the interface whose implementations may
// run (the receiver's static type when it is an interface, else the declaring interface)
// and whether that interface is declared in ROOT.
func (o *oracle) interfaceOf(fn *types.Func, sel *types.Selection) (*types.Interface, bool) {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return nil, false
	}
	declared, ok := sig.Recv().Type().Underlying().(*types.Interface)
	if !ok {
		return nil, false
	}
	iface, static := declared, sig.Recv().Type()
	if sel != nil {
		recv := sel.Recv()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
		if i, ok := recv.Underlying().(*types.Interface); ok {
			iface, static = i, recv
		}
	}
	inRoot := false
	switch t := static.(type) {
	case *types.Named:
		_, inRoot = o.spot(t.Obj())
	case *types.TypeParam:
		_, inRoot = o.spot(t.Obj())
	}
	return iface, inRoot
}

func (o *oracle) implementations(iface *types.Interface, fn *types.Func) []target {
	key := types.TypeString(iface, nil) + "." + fn.Name()
	if ts, ok := o.implCache[key]; ok {
		return ts
	}
	ts := []target{}
	func() {
		defer func() {
			if recover() != nil {
				o.panics++
			}
		}()
		for _, tn := range o.named {
			var recv types.Type = tn.Type()
			if !types.Implements(recv, iface) {
				recv = types.NewPointer(recv)
				if !types.Implements(recv, iface) {
					continue
				}
			}
			m, _, _ := types.LookupFieldOrMethod(recv, true, fn.Pkg(), fn.Name())
			if mf, ok := m.(*types.Func); ok {
				if t, ok := o.spot(mf.Origin()); ok {
					ts = append(ts, t)
					// The same method in a sibling file for another platform or build
					// tag (Transport.RoundTrip in roundtrip_js.go), as for direct calls.
					ts = append(ts, o.variantsOf(mf.Origin())...)
				}
			}
		}
	}()
	o.implCache[key] = ts
	return ts
}

func dedup(ts []target) []target {
	seen := map[target]bool{}
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// embeds: `inherits` pairs for the embedded fields of a struct type and the embedded
// interfaces of an interface type.
func (o *oracle) embeds(rp *rootPkg, path string, ts *ast.TypeSpec) []pair {
	var fields *ast.FieldList
	switch t := ts.Type.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return nil
	}
	if fields == nil {
		return nil
	}
	var out []pair
	for _, fld := range fields.List {
		if len(fld.Names) > 0 {
			continue
		}
		e := unparen(fld.Type)
		if s, ok := e.(*ast.StarExpr); ok {
			e = unparen(s.X)
		}
		switch x := e.(type) {
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		}
		var id *ast.Ident
		switch x := e.(type) {
		case *ast.Ident:
			id = x
		case *ast.SelectorExpr:
			id = x.Sel
		default:
			continue // unions and ~T terms of a constraint
		}
		tn, ok := rp.info.Uses[id].(*types.TypeName)
		if !ok {
			continue
		}
		p := pair{Edge: "inherits", Path: path, Line: o.fset.Position(fld.Type.Pos()).Line, Name: id.Name, Targets: []target{}}
		if t, ok := o.spot(tn); ok {
			p.Targets = append(p.Targets, t)
		}
		p.External = len(p.Targets) == 0
		out = append(out, p)
	}
	return out
}

// ---------------------------------------------------------------------------------------
// GO_ORACLE_DEBUG: a label per call saying what kind of call it is, to group misses.

// origins: how each local variable of a file got its value.
func (o *oracle) origins(rp *rootPkg, f *ast.File) map[types.Object]string {
	m := map[types.Object]string{}
	rhsKind := func(e ast.Expr) string {
		e = unparen(e)
		if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
			e = unparen(u.X)
		}
		switch x := e.(type) {
		case *ast.CallExpr:
			if _, ok := unparen(x.Fun).(*ast.FuncLit); ok {
				return "funclit-call"
			}
			if tv, ok := rp.info.Types[x.Fun]; ok && tv.IsType() {
				return "conversion"
			}
			return "call"
		case *ast.CompositeLit:
			return "composite"
		case *ast.TypeAssertExpr:
			return "assert"
		case *ast.SelectorExpr:
			return "field"
		case *ast.IndexExpr:
			return "index"
		case *ast.Ident:
			return "ident"
		}
		return "expr"
	}
	def := func(id *ast.Ident, how string) {
		if obj := rp.info.Defs[id]; obj != nil {
			m[obj] = how
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				return true
			}
			for i, l := range n.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok {
					continue
				}
				if len(n.Rhs) == len(n.Lhs) {
					def(id, "local:="+rhsKind(n.Rhs[i]))
				} else {
					def(id, "local:=multi-"+rhsKind(n.Rhs[0]))
				}
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok {
					def(id, "local:range")
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				switch {
				case n.Type != nil:
					def(id, "var:typed")
				case len(n.Values) == len(n.Names):
					def(id, "var="+rhsKind(n.Values[i]))
				default:
					def(id, "var=multi")
				}
			}
		case *ast.FuncDecl:
			if n.Recv != nil {
				for _, fl := range n.Recv.List {
					for _, id := range fl.Names {
						def(id, "receiver")
					}
				}
			}
			for _, fl := range n.Type.Params.List {
				for _, id := range fl.Names {
					def(id, "param")
				}
			}
		case *ast.FuncLit:
			for _, fl := range n.Type.Params.List {
				for _, id := range fl.Names {
					def(id, "param")
				}
			}
		}
		return true
	})
	return m
}

func (o *oracle) how(rp *rootPkg, call *ast.CallExpr, origins map[types.Object]string) string {
	fun := unparen(call.Fun)
	switch x := fun.(type) {
	case *ast.IndexExpr:
		fun = unparen(x.X)
	case *ast.IndexListExpr:
		fun = unparen(x.X)
	}
	switch x := fun.(type) {
	case *ast.Ident:
		return "func"
	case *ast.SelectorExpr:
		s, ok := rp.info.Selections[x]
		if !ok {
			return "pkgfunc"
		}
		kind := "method"
		if s.Kind() == types.MethodExpr {
			kind = "methodexpr"
		} else if len(s.Index()) > 1 {
			kind = "promoted"
		}
		recv := s.Recv()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
		if _, ok := recv.(*types.TypeParam); ok {
			kind = "typeparam"
		} else if types.IsInterface(recv) {
			kind = "iface"
		} else if fn, ok := s.Obj().(*types.Func); ok {
			if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil && types.IsInterface(sig.Recv().Type()) {
				kind = "embedded-iface"
			}
		}
		return kind + " on " + o.shape(rp, x.X, origins)
	}
	return "other"
}

func (o *oracle) shape(rp *rootPkg, e ast.Expr, origins map[types.Object]string) string {
	e = unparen(e)
	switch x := e.(type) {
	case *ast.Ident:
		obj := rp.info.Uses[x]
		if v, ok := obj.(*types.Var); ok {
			if how, ok := origins[v]; ok {
				return how
			}
			if v.Parent() == v.Pkg().Scope() {
				return "pkgvar"
			}
			return "var"
		}
		return "ident"
	case *ast.SelectorExpr:
		if s, ok := rp.info.Selections[x]; ok && s.Kind() == types.FieldVal {
			return "field"
		}
		return "qualified"
	case *ast.CallExpr:
		if tv, ok := rp.info.Types[x.Fun]; ok && tv.IsType() {
			return "conversion"
		}
		return "call-result"
	case *ast.IndexExpr:
		return "index"
	case *ast.CompositeLit:
		return "composite"
	case *ast.UnaryExpr:
		return "unary"
	case *ast.TypeAssertExpr:
		return "assert"
	}
	return "other"
}
