//! Cross-file resolution, language by language, through the public API: index a small
//! hand-written project into a store, then ask for edges.

mod common;

use codegraph_core::{Direction, EdgeKind, GraphStore, NodeKind};
use codegraph_store::MemoryStore;
use common::{callee_lines, callees, index_files, node, targets};

#[test]
fn python_scopes_imports_packages_and_constructors() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "py",
        &[
            (
                "pkg/__init__.py",
                "from .shapes import Shape, make_shape\nfrom . import util\n",
            ),
            (
                "pkg/shapes.py",
                r#"from .util import helper as h
import pkg.util

class Base:
    def area(self):
        return 0

    def describe(self):
        return self.area()

class Shape(Base):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def grow(self):
        h(self.n)
        pkg.util.helper(1)
        return self.describe()

def make_shape():
    return Shape(3)
"#,
            ),
            (
                "pkg/util.py",
                "def helper(x):\n    return x\n\ndef unused():\n    print('x')\n",
            ),
            (
                "app.py",
                r#"from pkg import Shape, make_shape
import pkg.util as u

def main():
    s = make_shape()
    s.grow()
    u.helper(2)
    Shape(1)
    print(s)
"#,
            ),
        ],
    );
    assert_eq!(
        callees(&store, "py", "pkg.shapes.Shape.grow"),
        [
            "pkg.shapes.Base.describe (scope)",
            "pkg.util.helper (import)",
        ]
    );
    assert_eq!(
        callees(&store, "py", "pkg.shapes.Base.describe"),
        ["pkg.shapes.Base.area (scope)"]
    );
    assert_eq!(
        callees(&store, "py", "pkg.shapes.make_shape"),
        ["pkg.shapes.Shape.__init__ (scope)"]
    );
    assert_eq!(
        callees(&store, "py", "app.main"),
        [
            "pkg.shapes.Shape.__init__ (import)",
            "pkg.shapes.make_shape (import)",
            "pkg.util.helper (import)",
        ]
    );
    assert_eq!(
        targets(&store, "py", "pkg.shapes.Shape", EdgeKind::Inherits),
        ["pkg.shapes.Base (scope)"]
    );
    // `print` is a builtin: no edge, and it is kept as unresolved.
    let export = common::export(&store, "py");
    assert!(
        export.contains(r#""resolution":"unresolved","line":9,"column":5,"name":"print""#),
        "{export}"
    );
}

#[test]
fn python_isinstance_loops_over_collections_and_bound_methods() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "py",
        &[
            ("pkg/__init__.py", ""),
            (
                "pkg/text.py",
                r#"from typing import Iterator, List, Optional


class Text:
    def append(self, x):
        pass

    def render(self):
        pass


class Group:
    def __init__(self, items: list[Text]):
        self.items = items
        self._texts: List[Text] = []

    def render(self):
        pass

    def each(self):
        for t in self._texts:
            t.render()


class Lines:
    def __init__(self):
        self._lines: list[Text] = []

    def __iter__(self) -> Iterator[Text]:
        return iter(self._lines)


def narrow(obj, other: Group):
    if isinstance(obj, Text):
        obj.render()
    elif isinstance(obj, Group) and obj:
        obj.render()
    if isinstance(other, Text):
        other.render()
    other.render()


def bound(text: Text):
    append = text.append
    append(1)
    values = []
    push = values.append
    push(2)


def loops(items: list[Text], group: Group, lines: Lines, maybe: Optional[List[Group]]):
    for t in items:
        t.render()
    for t in group.items:
        t.render()
    for t in lines:
        t.render()
    for g in maybe:
        g.render()
    return [t.render() for t in items]
"#,
            ),
        ],
    );
    let text_render = "Text.render";
    let group_render = "Group.render";
    let lines = |caller: &str, callee: &str| call_site_lines(&store, "py", caller, callee);
    // isinstance narrows inside the block it guards, and only there.
    assert_eq!(lines("pkg.text.narrow", text_render), [35, 39]);
    assert_eq!(lines("pkg.text.narrow", group_render), [37, 40]);
    // A method saved to a local is called through it; a list's is not the project's.
    assert_eq!(lines("pkg.text.bound", "Text.append"), [45]);
    assert_eq!(lines("pkg.text.bound", "append").len(), 1);
    // Loops reach what annotated collections, attributes and `__iter__` hold.
    assert_eq!(lines("pkg.text.loops", text_render), [53, 55, 57, 60]);
    assert_eq!(lines("pkg.text.loops", group_render), [59]);
    assert_eq!(lines("pkg.text.Group.each", text_render), [22]);
}

#[test]
fn python_receivers_typed_by_declarations_and_bindings() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "py",
        &[
            ("app/__init__.py", ""),
            (
                "app/models.py",
                r#"import typing as t

class Engine:
    def start(self):
        pass

    def open(self):
        pass

class Car:
    engine: Engine

    def __init__(self, spare: t.Optional["Engine"] = None):
        self.spare = spare
        self.radio = Radio()

    def drive(self) -> "Engine":
        self.engine.start()
        self.spare.start()
        self.radio.play()
        return self.engine

class Radio:
    def play(self):
        pass

@t.overload
def make(kind: int) -> Car: ...
@t.overload
def make(kind: str) -> Car: ...
def make(kind) -> Car:
    return Car()

garage: Car = make(1)
"#,
            ),
            (
                "app/json/__init__.py",
                "def dumps(x):
    return x
",
            ),
            (
                "app/json/provider.py",
                "import json

def encode(x):
    return json.dumps(x)
",
            ),
            (
                "main.py",
                r#"from app.models import Car, make, garage

def run(car: Car, other):
    car.drive().start()
    built = make("x")
    built.drive()
    c2 = Car()
    c2.radio.play()
    garage.drive()
    other.drive()
    f = open("x")
    f.close()
    Car = other
    Car.drive()
"#,
            ),
        ],
    );
    assert_eq!(
        callees(&store, "py", "app.models.Car.drive"),
        [
            "app.models.Engine.start (inferred)",
            "app.models.Radio.play (inferred)",
        ]
    );
    // The overloads are stubs: the call goes to the implementation, the last `make`.
    let make_impl = common::nodes_named(&store, "py", "make")
        .into_iter()
        .max_by_key(|n| n.span.start_line)
        .unwrap();
    let run = common::node(&store, "py", "main.run");
    let calls = codegraph_store::query::calls(
        &store,
        "py",
        run.id,
        codegraph_core::Direction::Outgoing,
        &codegraph_core::Budget::unlimited(),
    )
    .unwrap();
    let to_make: Vec<_> = calls
        .iter()
        .filter(|c| c.node.name == "make")
        .map(|c| c.node.id)
        .collect();
    assert_eq!(to_make, [make_impl.id]);
    assert_eq!(
        callees(&store, "py", "main.run"),
        [
            "app.models.Car.__init__ (import)",
            "app.models.Car.drive (inferred)",
            "app.models.Engine.start (inferred)",
            "app.models.Radio.play (inferred)",
            "app.models.make (import)",
        ]
    );
    // `import json` inside the package `app.json` is the standard library's module, and
    // the builtin `open` is not `Engine.open`.
    assert!(callees(&store, "py", "app.json.provider.encode").is_empty());
}

#[test]
fn rust_modules_use_paths_and_self() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rs",
        &[
            (
                "src/lib.rs",
                "pub mod shapes;\nmod util;\n\npub use shapes::Circle;\n\npub fn run() {\n    let c = Circle::new(1.0);\n    util::log(\"x\");\n    crate::util::log(\"y\");\n    shapes::helpers::double(2.0);\n}\n",
            ),
            (
                "src/shapes/mod.rs",
                "pub mod helpers;\nuse crate::util::log;\n\npub trait Area {\n    fn area(&self) -> f64;\n}\n\npub struct Circle {\n    r: f64,\n}\n\nimpl Circle {\n    pub fn new(r: f64) -> Self {\n        log(\"new\");\n        Self::check(r);\n        Circle { r }\n    }\n\n    fn check(r: f64) {\n        helpers::double(r);\n    }\n}\n\nimpl Area for Circle {\n    fn area(&self) -> f64 {\n        self.r * super::util::PI\n    }\n}\n",
            ),
            (
                "src/shapes/helpers.rs",
                "pub fn double(x: f64) -> f64 {\n    super::super::util::log(\"d\");\n    x * 2.0\n}\n",
            ),
            (
                "src/util.rs",
                "pub const PI: f64 = 3.14;\n\npub fn log(msg: &str) {\n    println!(\"{msg}\");\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "rs", "run"),
        [
            "shapes::Circle::new (import)",
            "shapes::helpers::double (import)",
            "util::log (import)",
        ]
    );
    assert_eq!(
        callees(&store, "rs", "shapes::Circle::new"),
        ["shapes::Circle::check (scope)", "util::log (import)"]
    );
    assert_eq!(
        callees(&store, "rs", "shapes::Circle::check"),
        ["shapes::helpers::double (import)"]
    );
    assert_eq!(
        callees(&store, "rs", "shapes::helpers::double"),
        ["util::log (import)"]
    );
    assert_eq!(
        targets(&store, "rs", "shapes::Circle", EdgeKind::Implements),
        ["shapes::Area (scope)"]
    );
}

#[test]
fn javascript_relative_modules_index_files_and_classes() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "src/index.js",
                "export { Shape } from './shape';\nexport * from './util';\n",
            ),
            (
                "src/shape.js",
                "import { clamp } from './util/index.js';\n\nexport class Base {\n  area() { return 0; }\n}\n\nexport class Shape extends Base {\n  constructor(n) {\n    super(n);\n    this.n = clamp(n);\n  }\n  describe() {\n    return this.area();\n  }\n}\n",
            ),
            (
                "src/util/index.js",
                "export function clamp(x) { return Math.max(0, x); }\nexport const twice = (x) => x * 2;\n",
            ),
            (
                "app.ts",
                "import { Shape, twice } from './src';\nimport * as util from './src/util';\n\nexport function main(): number {\n  const s = new Shape(2);\n  util.clamp(3);\n  return twice(s.describe());\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "js", "main"),
        [
            "Shape.constructor (import)",
            // `s = new Shape(2)` types `s`.
            "Shape.describe (inferred)",
            "clamp (import)",
            "twice (import)",
        ]
    );
    assert_eq!(
        callees(&store, "js", "Shape.describe"),
        ["Base.area (scope)"]
    );
    assert_eq!(
        callees(&store, "js", "Shape.constructor"),
        ["clamp (import)"]
    );
    assert_eq!(
        targets(&store, "js", "Shape", EdgeKind::Inherits),
        ["Base (scope)"]
    );
}

#[test]
fn go_packages_receivers_and_embedding() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "go",
        &[
            (
                "store/store.go",
                "package store\n\ntype Store struct {\n\titems []string\n}\n\nfunc New() *Store { return &Store{} }\n\nfunc (s *Store) Add(x string) {\n\ts.grow()\n\thelper()\n}\n\nfunc (s *Store) grow() {}\n",
            ),
            ("store/helper.go", "package store\n\nfunc helper() {}\n"),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\tst \"example.com/app/store\"\n)\n\ntype Logger interface {\n\tLog()\n}\n\ntype App struct {\n\t*st.Store\n\tLogger\n}\n\nfunc main() {\n\ts := st.New()\n\ts.Add(\"x\")\n\tfmt.Println(\"x\")\n\trun()\n}\n\nfunc run() {}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "go", "main.main"),
        [
            "main.run (scope)",
            "store.New (import)",
            "store.Store.Add (inferred)"
        ]
    );
    assert_eq!(
        callees(&store, "go", "store.Store.Add"),
        ["store.Store.grow (inferred)", "store.helper (import)"]
    );
    assert_eq!(
        targets(&store, "go", "main.App", EdgeKind::Inherits),
        ["main.Logger (scope)", "store.Store (import)"]
    );
}

#[test]
fn java_packages_imports_constructors_and_members() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "java",
        &[
            (
                "src/com/ex/model/Shape.java",
                "package com.ex.model;\n\npublic abstract class Shape implements Comparable<Shape> {\n    public abstract double area();\n\n    public int compareTo(Shape o) {\n        return Double.compare(area(), o.area());\n    }\n}\n",
            ),
            (
                "src/com/ex/model/Circle.java",
                "package com.ex.model;\n\npublic class Circle extends Shape {\n    private final double r;\n\n    public Circle(double r) {\n        super();\n        this.r = r;\n    }\n\n    public double area() {\n        return Util.square(r) * 3.14;\n    }\n}\n",
            ),
            (
                "src/com/ex/model/Util.java",
                "package com.ex.model;\n\nclass Util {\n    static double square(double x) {\n        return x * x;\n    }\n}\n",
            ),
            (
                "src/com/ex/App.java",
                "package com.ex;\n\nimport com.ex.model.Circle;\nimport com.ex.model.*;\n\npublic class App {\n    public static void main(String[] args) {\n        Circle c = new Circle(2);\n        Shape s = c;\n        System.out.println(s.area());\n        helper();\n    }\n\n    static void helper() {}\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "java", "com.ex.App.main"),
        [
            "com.ex.App.helper (scope)",
            "com.ex.model.Circle.Circle (import)",
            "com.ex.model.Shape.area (inferred)",
        ]
    );
    assert_eq!(
        callees(&store, "java", "com.ex.model.Circle.area"),
        ["com.ex.model.Util.square (import)"]
    );
    assert_eq!(
        targets(&store, "java", "com.ex.model.Circle", EdgeKind::Inherits),
        ["com.ex.model.Shape (import)"]
    );
}

#[test]
fn cpp_includes_namespaces_and_out_of_line_definitions() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "include/geo/shape.h",
                "#pragma once\nnamespace geo {\nclass Shape {\n public:\n  virtual double area() const;\n  static Shape make();\n};\ndouble twice(double x);\n}\n",
            ),
            (
                "src/shape.cpp",
                "#include \"geo/shape.h\"\nnamespace geo {\ndouble Shape::area() const { return twice(1.0); }\nShape Shape::make() { return Shape(); }\ndouble twice(double x) { return x * 2; }\n}\n",
            ),
            (
                "src/main.cpp",
                "#include <vector>\n#include \"../include/geo/shape.h\"\nint main() {\n  auto s = geo::Shape::make();\n  return (int)s.area();\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "cpp", "main"),
        ["geo::Shape::make (import)"]
    );
    // Both includes of the header resolve to its file node; `<vector>` stays external.
    let header = store.file("cpp", "include/geo/shape.h").unwrap().unwrap();
    let mut includers: Vec<String> = store
        .edges(
            "cpp",
            header.node_ids[0],
            Direction::Incoming,
            Some(EdgeKind::Imports),
        )
        .unwrap()
        .into_iter()
        .map(|e| store.node("cpp", e.src).unwrap().unwrap().path)
        .collect();
    includers.sort();
    assert_eq!(includers, ["src/main.cpp", "src/shape.cpp"]);
}

#[test]
fn cpp_a_using_declaration_binds_its_name_where_the_include_is_not_found() {
    // The header is found through an include directory the resolver does not know:
    // the using-declarations still name what they bind, overloads chosen by arity.
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "include/gtest/param.h",
                "#pragma once\nnamespace testing {\nnamespace internal {\n\
                 int Helper(int x) { return x; }\n}\n\
                 int Range(int a, int b, int step) { return a; }\n\
                 int Range(int a, int b) { return b; }\n}\n",
            ),
            (
                "src/other.cc",
                // `other::internal::Helper` ends as `internal::Helper` does too.
                "namespace other {\nnamespace internal {\nint Helper(int x) { return 0; }\n}\n}\n",
            ),
            (
                "test/param_test.cc",
                "#include \"param.h\"\nusing ::testing::Range;\nusing std::sort;\n\
                 int run() {\n  Range(0, 1);\n  sort(0, 1);\n  return 0;\n}\n\
                 namespace testing {\nusing internal::Helper;\n\
                 int other() { return Helper(3); }\n}\n",
            ),
        ],
    );
    assert_eq!(
        callee_lines(&store, "cpp", "run"),
        ["testing::Range:7 (import)"],
        "the two-argument overload, and nothing for std::sort"
    );
    assert_eq!(
        callees(&store, "cpp", "testing::other"),
        ["testing::internal::Helper (import)"],
        "named relative to the enclosing namespace"
    );
}

#[test]
fn cpp_a_qualifier_is_looked_up_from_the_namespaces_around_the_call() {
    // The header comes through an include directory the resolver does not know; the
    // call names the namespace relative to its own (`fmt_helper` inside
    // `spdlog::details`), or from the global namespace.
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "include/spdlog/details/fmt_helper.h",
                "#pragma once\nnamespace spdlog {\nnamespace details {\nnamespace fmt_helper {\n\
                 inline void pad2(int n) {}\n}\n}\n}\n",
            ),
            (
                "include/other/fmt_helper.h",
                "#pragma once\nnamespace other {\nnamespace fmt_helper {\n\
                 inline void pad2(int n) {}\n}\n}\n",
            ),
            (
                "src/pattern.cc",
                "#include \"fmt_helper.h\"\nnamespace spdlog {\nnamespace details {\n\
                 void format() { fmt_helper::pad2(1); }\n}\n}\n\
                 void top() { ::spdlog::details::fmt_helper::pad2(2); ::other::fmt_helper::pad2(3); }\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "cpp", "spdlog::details::format"),
        ["spdlog::details::fmt_helper::pad2 (import)"]
    );
    assert_eq!(
        callees(&store, "cpp", "top"),
        [
            "other::fmt_helper::pad2 (import)",
            "spdlog::details::fmt_helper::pad2 (import)"
        ]
    );
}

#[test]
fn cpp_gmock_methods_are_the_methods_a_mocks_callers_call() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "test/mock_foo.h",
                "#pragma once\nclass MockFoo : public Foo {\n public:\n\
                 MOCK_METHOD(int, Bar, (int x, int y), (override));\n\
                 MOCK_METHOD(void, Baz,\n              ());\n\
                 MOCK_METHOD1(Old, bool(int n));\n\
                 MOCK_CONST_METHOD0(Peek, int());\n};\n",
            ),
            // The same names on another class: no name alone decides.
            (
                "src/foo.h",
                "#pragma once\nclass Real {\n public:\n  int Bar(int x, int y) { return 0; }\n\
                 void Baz() {}\n  bool Old(int n) { return true; }\n  int Peek() const { return 0; }\n};\n",
            ),
            (
                "test/foo_test.cc",
                "#include \"mock_foo.h\"\nvoid run() {\n  MockFoo foo;\n  foo.Bar(1, 2);\n\
                 foo.Baz();\n  foo.Old(3);\n  foo.Peek();\n}\n",
            ),
        ],
    );
    assert_eq!(
        callee_lines(&store, "cpp", "run"),
        [
            "MockFoo::Bar:4 (inferred)",
            "MockFoo::Baz:5 (inferred)",
            "MockFoo::Old:7 (inferred)",
            "MockFoo::Peek:8 (inferred)"
        ]
    );
}

#[test]
fn cpp_a_specialisation_has_its_members_and_a_base_is_the_primary_template() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "action.h",
                "#pragma once\ntemplate <typename F>\nclass Action;\n\
                 template <typename R, typename... Args>\nclass Action<R(Args...)> {\n public:\n\
                 R Perform(int args) const { return R(); }\n};\n\
                 class Other {\n public:\n  int Perform(int) { return 0; }\n};\n\
                 template <typename T, typename C = char>\nstruct formatter {};\n\
                 template <typename C>\nstruct formatter<const char*, C> : formatter<int, C> {};\n\
                 template <>\nstruct formatter<long> : formatter<int> {};\n",
            ),
            (
                "test.cc",
                "#include \"action.h\"\nvoid run() {\n  Action<int(bool)> a = Make();\n  a.Perform(1);\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "cpp", "run"),
        ["Action<R(Args...)>::Perform (inferred)"]
    );
    // Each specialisation's base is the primary template, not another specialisation
    // (nor itself).
    let graph = common::export(&store, "cpp");
    let lines: Vec<serde_json::Value> = graph
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let qualified = |id: &serde_json::Value| {
        lines
            .iter()
            .find(|n| n["type"] == "node" && &n["id"] == id)
            .map(|n| n["qualified_name"].as_str().unwrap().to_string())
    };
    let mut bases: Vec<(String, String)> = lines
        .iter()
        .filter(|e| e["type"] == "edge" && e["kind"] == "inherits")
        .map(|e| (qualified(&e["src"]).unwrap(), qualified(&e["dst"]).unwrap()))
        .collect();
    bases.sort();
    assert_eq!(
        bases,
        [
            (
                "formatter<const char*, C>".to_string(),
                "formatter".to_string()
            ),
            ("formatter<long>".to_string(), "formatter".to_string())
        ]
    );
}

#[test]
fn cpp_smart_pointers_and_range_for_over_standard_containers() {
    // `App`'s methods are only defined out of line, so each has one node.
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "include/geo/shapes.h",
                "#pragma once\n#include <memory>\n#include <vector>\nnamespace geo {\n\
                 class Shape {\n public:\n  double area() const { return 0; }\n};\n\
                 class Option {\n public:\n  int count() const { return 0; }\n};\n\
                 using Option_p = std::unique_ptr<Option>;\n\
                 class App {\n private:\n\
                 std::vector<std::unique_ptr<Shape>> shapes_;\n\
                 std::vector<Option_p> options_;\n};\n}\n",
            ),
            // The same method names elsewhere: no name alone decides.
            (
                "src/decoy.h",
                "class Circle {\n public:\n  double area() const { return 1; }\n\
                 int count() const { return 1; }\n};\n",
            ),
            (
                "src/app.cc",
                "#include \"geo/shapes.h\"\nnamespace geo {\ndouble App::total() {\n\
                 double t = 0;\n  for (auto& s : shapes_) t += s->area();\n  return t;\n}\n\
                 int App::counts() {\n  int n = 0;\n\
                 for (const Option_p& opt : options_) n += opt->count();\n\
                 std::shared_ptr<const Shape> one = nullptr;\n  one->area();\n  return n;\n}\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "cpp", "geo::App::total"),
        ["geo::Shape::area (inferred)"]
    );
    assert_eq!(
        callees(&store, "cpp", "geo::App::counts"),
        [
            "geo::Option::count (inferred)",
            "geo::Shape::area (inferred)"
        ]
    );
}

#[test]
fn cpp_a_namespace_reopened_in_many_files_finds_members_of_every_block() {
    // Every header reopens `big::part`; a qualified call reaches the member declared
    // in whichever block declares it, not only in the first.
    let headers: Vec<(String, String)> = (0..300)
        .map(|i| {
            (
                format!("include/c{i}.h"),
                format!(
                    "#pragma once\nnamespace big {{\nnamespace part {{\nclass C{i} {{\n public:\n  static int make();\n}};\n}}\n}}\n"
                ),
            )
        })
        .collect();
    let mut files: Vec<(&str, &str)> = headers
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    files.push((
        "src/main.cpp",
        "#include \"../include/c250.h\"\nint main() {\n  return big::part::C250::make();\n}\n",
    ));
    let store = MemoryStore::new();
    index_files(&store, "cpp", &files);
    assert_eq!(
        callees(&store, "cpp", "main"),
        ["big::part::C250::make (import)"]
    );
}

#[test]
fn cpp_a_method_defined_in_a_namespace_block_is_not_a_member_of_the_namespace() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "db.h",
                "#pragma once\nnamespace ns {\nclass Db {\n public:\n  void to_json();\n};\n}\n",
            ),
            // First by path: the namespace block that stands for all the others.
            (
                "a.cpp",
                "#include \"db.h\"\nnamespace ns {\nvoid Db::to_json() {}\n}\n",
            ),
            (
                "main.cpp",
                "#include \"db.h\"\nvoid run() { ns::to_json(1); }\n",
            ),
            ("backup.cpp", "namespace ns {\nvoid to_json(int x) {}\n}\n"),
        ],
    );
    let callees = callees(&store, "cpp", "run");
    assert_eq!(callees.len(), 1, "{callees:?}");
    assert!(callees[0].starts_with("ns::to_json "), "{callees:?}");
}

#[test]
fn go_receivers_typed_by_declarations() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "go",
        &[
            (
                "store/store.go",
                "package store\n\ntype Store struct {\n\tcache *Cache\n}\n\ntype Cache struct{}\n\nfunc (c *Cache) Get(k string) string { return k }\n\nfunc New() *Store { return &Store{} }\n\nfunc Open(p string) (*Store, error) { return New(), nil }\n\nfunc (s *Store) Get(k string) string {\n\treturn s.cache.Get(k)\n}\n\n// Get the package function: a bare name never names a method.\nfunc Get(k string) string { return k }\n",
            ),
            (
                "store/use.go",
                "package store\n\nfunc use(c *Cache) {\n\tst := New()\n\tst.Get(\"a\")\n\tother, err := Open(\"p\")\n\t_ = err\n\tother.Get(\"b\")\n\tvar cache Cache\n\tcache.Get(\"c\")\n\tlit := &Store{}\n\tlit.Get(\"d\")\n\tc.Get(\"e\")\n\tGet(\"f\")\n}\n",
            ),
            (
                "main.go",
                "package main\n\nimport \"example.com/app/store\"\n\nfunc main() {\n\tstore.Get(\"x\")\n\tunknown.Get(\"y\")\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "go", "store.use"),
        [
            "store.Cache.Get (inferred)",
            "store.Get (import)",
            "store.New (import)",
            "store.Open (import)",
            "store.Store.Get (inferred)",
        ]
    );
    assert_eq!(
        callees(&store, "go", "store.Store.Get"),
        ["store.Cache.Get (inferred)"]
    );
    // `store.Get` is the package's function, not the method `Store.Get`; a receiver
    // that is not the method's own is not typed by the method.
    assert_eq!(
        callees(&store, "go", "main.main"),
        ["store.Get (import)"],
        "{}",
        common::export(&store, "go")
    );
}

#[test]
fn go_assertions_named_results_type_switches_and_interface_dispatch() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "go",
        &[
            (
                "shape/shape.go",
                r#"package shape

type Sized interface {
	Size() int
}

type Shape interface {
	Sized
	Area() int
}

// Only `Area`: no Shape, so no candidate for `Shape.Area`.
type Flat struct{}

func (f Flat) Area() int { return 0 }

// Size through its embedded base.
type Square struct {
	base
	n int
}

type base struct{}

func (b base) Size() int { return 1 }

func (s *Square) Area() int { return s.n * s.n }
func (s *Square) Side() int { return s.n }

type Circle struct{ r int }

func (c Circle) Area() int   { return 3 * c.r * c.r }
func (c Circle) Radius() int { return c.r }
func (c Circle) Size() int   { return c.r }

type Labeled struct{}

func (l Labeled) Radius() int { return 0 }

func open(n int) (sq *Square, err error) {
	sq = &Square{n: n}
	return
}

// Both of Shape's names, but its Area takes a parameter: no Shape (a Sized, though).
type Loud struct{}

func (l Loud) Area(scale int) int { return scale }
func (l Loud) Size() int          { return 0 }

// Size returns two values: no Sized either.
type Pair struct{}

func (p Pair) Size() (int, error) { return 0, nil }
"#,
            ),
            (
                "shape/use.go",
                r#"package shape

func use(v any, s Shape) int {
	sq, err := open(1)
	_ = err
	total := sq.Side()
	if c, ok := v.(Circle); ok {
		total += c.Radius()
	}
	p := v.(*Square)
	total += p.Side()
	total += v.(Circle).Radius()
	switch x := v.(type) {
	case *Square:
		total += x.Side()
	case Circle, *Square:
		total += x.Area()
	}
	return total + s.Area()
}

func pair(a, b *Square) int {
	return a.Side() +
		b.Side()
}

type bag struct {
	shapes []Shape
	byName map[string]*Square
}

func (b *bag) each() {
	for _, s := range b.shapes {
		s.Size()
	}
	for k, sq := range b.byName {
		_ = k
		sq.Side()
	}
	b.shapes[0].Area()
}

type action struct{}

func (a *action) describef(format string) {}

func later(f func()) *action { return &action{} }

// A function literal among a call's arguments says nothing of what the call returns,
// however long it is.
func chained() {
	later(func() {
		first, second, third := "a function literal", "long enough", "to run a receiver"
		fourth, fifth, sixth := "past the two hundred characters", "a qualifier keeps", "."
		_, _, _, _, _, _ = first, second, third, fourth, fifth, sixth
	}).describef("x")
}
"#,
            ),
        ],
    );
    assert_eq!(
        callee_lines(&store, "go", "shape.use"),
        [
            // The call names `Shape.Area`; the types with all of Shape's methods
            // (embedded interfaces' included, and methods promoted from an embedded
            // field) may run theirs. In `case Circle, *Square:` `x` is not narrowed.
            "shape.Circle.Area:32 (dispatch)",
            // `c, ok := v.(Circle)`; `v.(Circle).Radius()` names the type, as
            // `Circle.Radius` would.
            "shape.Circle.Radius:33 (import)",
            "shape.Circle.Radius:33 (inferred)",
            "shape.Shape.Area:9 (inferred)",
            "shape.Square.Area:27 (dispatch)",
            // `sq` is the named result of `open`; `p := v.(*Square)`; `case *Square:`.
            "shape.Square.Side:28 (inferred)",
            "shape.open:40 (import)",
        ],
        "{}",
        common::export(&store, "go")
    );
    // Each way of typing has its own line: the named result (6), the assertions (8,
    // 11, 12), the narrowed case (15), and not the case of two types (17).
    assert_eq!(
        call_site_lines(&store, "go", "shape.use", "Square.Side"),
        [6, 11, 15]
    );
    assert_eq!(
        call_site_lines(&store, "go", "shape.use", "Circle.Radius"),
        [8, 12]
    );
    assert_eq!(
        call_site_lines(&store, "go", "shape.use", "Circle.Area"),
        [19]
    );
    // A range loop's value and an index are the element of a slice or a map.
    assert_eq!(
        callee_lines(&store, "go", "shape.bag.each"),
        [
            "shape.Circle.Area:32 (dispatch)",
            "shape.Circle.Size:34 (dispatch)",
            "shape.Loud.Size:49 (dispatch)",
            "shape.Shape.Area:9 (inferred)",
            "shape.Sized.Size:4 (inferred)",
            "shape.Square.Area:27 (dispatch)",
            "shape.Square.Side:28 (inferred)",
            "shape.base.Size:25 (dispatch)",
        ]
    );
    assert_eq!(
        callees(&store, "go", "shape.chained"),
        ["shape.action.describef (inferred)", "shape.later (scope)"]
    );
    // One declaration of two names binds both.
    assert_eq!(
        call_site_lines(&store, "go", "shape.pair", "Square.Side"),
        [23, 24]
    );
}

/// Interfaces in 12 layers of 8, each embedding all eight of the next layer: a walk of
/// the embeddings by path would make 8^11 steps (hours: the test would not end); each
/// interface is read once.
#[test]
fn go_interfaces_embedding_in_layers_are_walked_once_each() {
    let mut src = String::from("package deep\n\n");
    for layer in 0..12 {
        for i in 0..8 {
            src += &format!("type L{layer}I{i} interface {{\n\tTop()\n");
            if layer < 11 {
                for j in 0..8 {
                    src += &format!("\tL{}I{j}\n", layer + 1);
                }
            } else {
                src += &format!("\tM{i}()\n");
            }
            src += "}\n\n";
        }
    }
    src += "type T struct{}\n\nfunc (t T) Top() {}\n";
    for i in 0..8 {
        src += &format!("func (t T) M{i}() {{}}\n");
    }
    // `Top` is declared by the outermost interface, whose method set is the walk's.
    src += "\nfunc use(x L0I0) {\n\tx.Top()\n}\n";
    let store = MemoryStore::new();
    index_files(&store, "go", &[("deep/deep.go", &src)]);
    assert_eq!(
        callees(&store, "go", "deep.use"),
        ["deep.L0I0.Top (inferred)", "deep.T.Top (dispatch)"]
    );
}

#[test]
fn java_receivers_typed_by_declarations() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "java",
        &[(
            "src/com/ex/Typed.java",
            "package com.ex;\n\npublic class Typed {\n    private final Registry registry = new Registry();\n\n    Registry registry() {\n        return registry;\n    }\n\n    int count(Registry given) {\n        Registry local = new Registry();\n        var inferred = new Registry();\n        return given.size() + local.size() + inferred.size() + registry.size()\n            + this.registry.size() + registry().size() + Typed.helper();\n    }\n\n    static int helper() {\n        return 0;\n    }\n\n    Typed() {}\n}\n\nclass Registry {\n    int size() {\n        return 0;\n    }\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "java", "com.ex.Typed.count"),
        [
            "com.ex.Registry (scope)",
            "com.ex.Registry.size (inferred)",
            "com.ex.Typed.helper (scope)",
            "com.ex.Typed.registry (scope)",
        ]
    );
}

#[test]
fn rust_inherent_impls_in_other_modules() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[
            (
                "src/lib.rs",
                "mod error;\n\npub struct Error {\n    code: u32,\n}\n\npub fn fail() -> Error {\n    Error::msg(1)\n}\n\nfn drop_it(e: Error) {\n    drop(e);\n}\n",
            ),
            (
                "src/error.rs",
                "use crate::Error;\n\nimpl Error {\n    pub fn msg(code: u32) -> Error {\n        Error { code }\n    }\n}\n\nimpl Drop for Error {\n    fn drop(&mut self) {}\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "rust", "fail"),
        ["error::Error::msg (scope)"]
    );
    // `drop(e)` is the prelude's function, never the `Drop` impl's method.
    assert!(callees(&store, "rust", "drop_it").is_empty());
}

#[test]
fn typescript_variables_of_anonymous_functions() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "src/manager.ts",
                "export class Manager {\n  focus(): void {}\n}\n",
            ),
            (
                "src/manager.test.ts",
                "import { Manager } from './manager'\n\ndescribe('m', () => {\n  let manager: Manager\n  beforeEach(() => {\n    manager = new Manager()\n  })\n  it('focuses', () => {\n    manager.focus()\n  })\n})\n",
            ),
        ],
    );
    // The calls are the file's own: the callbacks are no definitions.
    let export = common::export(&store, "ts");
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"name\":\"manager.focus\"")
                && l.contains("\"resolution\":\"inferred\"")),
        "{export}"
    );
}

#[test]
fn javascript_require_binds_the_module_export() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/Chunk.js",
                "class Chunk {\n  constructor() {}\n  add() {}\n}\n\nmodule.exports = Chunk;\n",
            ),
            (
                "lib/util/memoize.js",
                "const memoize = fn => fn;\n\nmodule.exports = memoize;\n",
            ),
            (
                "lib/Compiler.js",
                "const Chunk = require(\"./Chunk\");\nconst memoize = require(\"./util/memoize\");\n\nfunction build() {\n  const c = new Chunk();\n  memoize(build);\n  return c;\n}\n\nmodule.exports = build;\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "js", "build"),
        ["Chunk.constructor (import)", "memoize (import)"]
    );
}

#[test]
fn rust_receivers_typed_by_declarations() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Inner;\n\nimpl Inner {\n    pub fn by_ref(&self) -> &Inner {\n        self\n    }\n}\n\npub struct Outer {\n    inner: Inner,\n}\n\nimpl Outer {\n    pub fn new() -> Self {\n        Outer { inner: Inner }\n    }\n\n    pub fn open() -> Result<Outer, ()> {\n        Ok(Outer::new())\n    }\n\n    fn run(&self, given: &Inner) {\n        self.inner.by_ref();\n        given.by_ref();\n        let made = Outer::new();\n        made.run(given);\n        let lit = Outer { inner: Inner };\n        lit.run(given);\n        let typed: Inner = Inner;\n        typed.by_ref();\n    }\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "Outer::run"),
        [
            "Inner::by_ref (inferred)",
            "Outer::new (scope)",
            "Outer::run (inferred)"
        ]
    );
}

#[test]
fn cpp_global_qualifier_names_the_file_scope() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[(
            "src/a.cpp",
            "static int helper() { return 1; }\n\nclass A {\n public:\n  int helper() { return 2; }\n  int run() { return ::helper() + helper(); }\n};\n",
        )],
    );
    // `::helper()` is the file's function; the bare `helper()` the class's member.
    assert_eq!(
        callees(&store, "cpp", "A::run"),
        ["A::helper (scope)", "helper (scope)"]
    );
}

#[test]
fn a_parameter_hides_a_definition_of_its_name_except_in_java() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "src/classes.ts",
                "export class Widget {}\nexport function helper() {}\nexport type Fn = () => void;\n",
            ),
            (
                "src/make.ts",
                "import { Widget, helper, Fn } from './classes';\n\nexport function make(Widget: any, helper: Fn) {\n  helper();\n  return new Widget();\n}\n\nexport function plain() {\n  helper();\n  return new Widget();\n}\n",
            ),
        ],
    );
    // Inside `make` both names are its parameters: no edge to the imports.
    assert_eq!(callees(&store, "ts", "make"), Vec::<String>::new());
    assert_eq!(
        callees(&store, "ts", "plain"),
        ["Widget (import)", "helper (import)"]
    );

    let java = MemoryStore::new();
    index_files(
        &java,
        "java",
        &[(
            "src/p/A.java",
            "package p;\n\nclass A {\n    int registry() { return 1; }\n    int run(int registry) { return registry(); }\n}\n",
        )],
    );
    // Java keeps methods and variables apart: `registry()` is the method.
    assert_eq!(callees(&java, "java", "p.A.run"), ["p.A.registry (scope)"]);
}

#[test]
fn an_anonymous_default_export_is_what_a_default_import_names() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "src/locales/en.ts",
                "export default function (): string {\n  return 'en';\n}\n",
            ),
            ("src/locales/fr.js", "export default () => 'fr';\n"),
            (
                "src/pick.ts",
                "import english from './locales/en.js';\nimport french from './locales/fr';\n\nexport function pick(fr: boolean) {\n  return fr ? french() : english();\n}\n",
            ),
        ],
    );
    let pick = node(&store, "ts", "pick");
    let mut files: Vec<(String, String)> = codegraph_store::query::calls(
        &store,
        "ts",
        pick.id,
        codegraph_core::Direction::Outgoing,
        &codegraph_core::Budget::unlimited(),
    )
    .unwrap()
    .into_iter()
    .map(|r| (r.node.path, format!("{} ({})", r.node.name, r.resolution)))
    .collect();
    files.sort();
    assert_eq!(
        files,
        [
            (
                "src/locales/en.ts".to_string(),
                "default (import)".to_string()
            ),
            (
                "src/locales/fr.js".to_string(),
                "default (import)".to_string()
            ),
        ]
    );
}

#[test]
fn a_value_declared_with_an_alias_has_the_aliased_types_members() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct ParseBuffer<'a> {\n    rest: &'a str,\n}\n\nimpl<'a> ParseBuffer<'a> {\n    pub fn peek(&self) -> bool {\n        true\n    }\n}\n\npub type ParseStream<'a> = &'a ParseBuffer<'a>;\n\npub fn parse(input: ParseStream) -> bool {\n    input.peek()\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "parse"),
        ["ParseBuffer::peek (inferred)"]
    );
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[(
            "src/table.cpp",
            "struct Table {\n  int size() const { return 0; }\n};\nusing Handle = Table;\ntypedef Table Legacy;\nint count(Handle h, Legacy l) {\n  return h.size() + l.size();\n}\n",
        )],
    );
    assert_eq!(callees(&store, "cpp", "count"), ["Table::size (inferred)"]);
    // Defined twice, for two builds: syntax cannot say which one is meant.
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[(
            "src/group.cpp",
            "struct Sse { int Match() { return 1; } };
struct Portable { int Match() { return 0; } };
#ifdef SSE
using Group = Sse;
#else
using Group = Portable;
#endif
int probe(Group g) {
  return g.Match();
}
",
        )],
    );
    assert!(
        !callees(&store, "cpp", "probe")
            .iter()
            .any(|c| c.contains("(inferred)"))
    );
}

#[test]
fn a_named_default_export_is_found_under_the_importers_name() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "src/be.ts",
                "export default function belarusian(): string {\n  return 'be';\n}\n",
            ),
            (
                "src/de.js",
                "function german() {\n  return 'de';\n}\nexport default german;\n",
            ),
            (
                "src/nl.ts",
                "function dutch() {\n  return 'nl';\n}\nexport { dutch as default };\n",
            ),
            (
                "src/pick.ts",
                "import be from './be';\nimport de from './de';\nimport nl from './nl';\n\nexport function pick() {\n  return [be(), de(), nl()];\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "ts", "pick"),
        ["belarusian (import)", "dutch (import)", "german (import)"]
    );
}

#[test]
fn export_star_chains_are_followed_to_the_definition() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "src/core/parse.ts",
                "export function parse(s: string) {\n  return s;\n}\n",
            ),
            ("src/core/index.ts", "export * from './parse';\n"),
            ("src/index.ts", "export * from './core';\n"),
            (
                "src/app.ts",
                "import { parse } from './index';\n\nexport function run() {\n  return parse('x');\n}\n",
            ),
        ],
    );
    assert_eq!(callees(&store, "ts", "run"), ["parse (import)"]);
}

#[test]
fn javascript_receivers_typed_by_jsdoc() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/Compilation.js",
                "class Compilation {\n  getPath(name) {\n    return name;\n  }\n}\n\nmodule.exports = Compilation;\n",
            ),
            (
                "lib/Chunk.js",
                "class Chunk {\n  hasRuntime() {\n    return true;\n  }\n}\n\nmodule.exports = Chunk;\n",
            ),
            (
                "lib/Compiler.js",
                "/** @typedef {import(\"./Compilation\")} Compilation */\n/** @typedef {import(\"./Chunk\")} Chunk */\n\nclass Compiler {\n  /**\n   * @param {Compilation} compilation the compilation\n   * @param {Chunk=} [chunk] a chunk, if any\n   * @param {string | Chunk[]} names not one type\n   * @returns {void}\n   */\n  emitAssets(compilation, chunk, names) {\n    compilation.getPath(\"x\");\n    chunk.hasRuntime();\n    names.hasRuntime();\n  }\n}\n\nmodule.exports = Compiler;\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "js", "Compiler.emitAssets"),
        [
            "Chunk.hasRuntime (inferred)",
            "Compilation.getPath (inferred)"
        ]
    );
}

#[test]
fn rust_self_constructs_the_impls_tuple_struct() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Interest(u8);\n\nimpl Interest {\n    pub const fn add(self, other: Interest) -> Interest {\n        Self(self.0 | other.0)\n    }\n}\n\nfn free() -> u8 {\n    Self(1)\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "Interest::add"),
        ["Interest (scope)"]
    );
    // Outside an impl, `Self` names nothing.
    assert!(callees(&store, "rust", "free").is_empty());
}

#[test]
fn rust_values_of_a_type_parameter_have_its_bounds_methods() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub trait Read {\n    fn peek(&mut self) -> u8;\n}\n\npub trait Sink {\n    fn push(&mut self, b: u8);\n}\n\n\
             pub struct Deserializer<R> {\n    read: R,\n}\n\nimpl<R: Read> Deserializer<R> {\n    pub fn next(&mut self) -> u8 {\n        self.read.peek()\n    }\n}\n\n\
             pub fn copy<S>(sink: &mut S, mut from: impl Read)\nwhere\n    S: Sink,\n{\n    sink.push(1);\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "Deserializer::next"),
        ["Read::peek (inferred)"]
    );
    assert_eq!(callees(&store, "rust", "copy"), ["Sink::push (inferred)"]);
    // Two impls bounding one name by different traits: which one a field's value is
    // used in is not the field's to say, but the call's: each call is inside the impl
    // whose header is the nearest before it.
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub trait Consumer {\n    fn full(&self) -> bool;\n}\n\npub trait Folder {\n    fn full(&self) -> bool;\n}\n\n\
             pub struct Filter<C> {\n    base: C,\n}\n\nimpl<C: Consumer> Filter<C> {\n    pub fn done(&self) -> bool {\n        self.base.full()\n    }\n}\n\n\
             impl<C: Folder> Filter<C> {\n    pub fn folded(&self) -> bool {\n        self.base.full()\n    }\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "Filter::done"),
        ["Consumer::full (inferred)"]
    );
    assert_eq!(
        callees(&store, "rust", "Filter::folded"),
        ["Folder::full (inferred)"]
    );
}

#[test]
fn javascript_names_typed_by_a_jsdoc_type_comment() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/ModuleGraph.js",
                "class ModuleGraph {\n  getModule(d) {\n    return d;\n  }\n}\n\nmodule.exports = ModuleGraph;\n",
            ),
            (
                "lib/Compilation.js",
                "const ModuleGraph = require(\"./ModuleGraph\");\n\nclass Compilation {\n  constructor() {\n    /** @type {ModuleGraph} */\n    this.moduleGraph = undefined;\n  }\n\n  seal() {\n    this.moduleGraph.getModule(1);\n  }\n\n  check(other) {\n    /** @type {ModuleGraph} */\n    const graph = other.graph;\n    graph.getModule(2);\n  }\n}\n\nmodule.exports = Compilation;\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "js", "Compilation.seal"),
        ["ModuleGraph.getModule (inferred)"]
    );
    assert_eq!(
        callees(&store, "js", "Compilation.check"),
        ["ModuleGraph.getModule (inferred)"]
    );
}

#[test]
fn rust_locals_bound_to_method_calls_and_fields_have_their_types() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Lookahead;\n\nimpl Lookahead {\n    pub fn peek(&self) -> bool { true }\n}\n\n\
             pub struct Buffer {\n    ahead: Lookahead,\n}\n\n\
             impl Buffer {\n    pub fn new() -> Buffer { Buffer { ahead: Lookahead } }\n\
             \x20   pub fn lookahead(&self) -> Lookahead { Lookahead }\n\
             \x20   pub fn open(&self) -> Result<Buffer, ()> { Ok(Buffer::new()) }\n}\n\n\
             pub fn by_method(input: &Buffer) -> bool {\n    let l = input.lookahead();\n    l.peek()\n}\n\n\
             pub fn by_field(input: &Buffer) -> bool {\n    let l = &input.ahead;\n    l.peek()\n}\n\n\
             pub fn by_chain() -> bool {\n    Buffer::new().lookahead().peek()\n}\n\n\
             pub fn by_try(input: &Buffer) -> Result<bool, ()> {\n    let b = input.open()?;\n    Ok(b.lookahead().peek())\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "by_method"),
        ["Buffer::lookahead (inferred)", "Lookahead::peek (inferred)"]
    );
    assert_eq!(
        callees(&store, "rust", "by_field"),
        ["Lookahead::peek (inferred)"]
    );
    assert_eq!(
        callees(&store, "rust", "by_chain"),
        [
            "Buffer::lookahead (inferred)",
            "Buffer::new (scope)",
            "Lookahead::peek (inferred)"
        ]
    );
    // `-> Result<Buffer, ()>` holds a `Buffer`, which `?` takes out.
    assert_eq!(
        callees(&store, "rust", "by_try"),
        [
            "Buffer::lookahead (inferred)",
            "Buffer::open (inferred)",
            "Lookahead::peek (inferred)"
        ]
    );
}

#[test]
fn rust_tuple_fields_and_tuple_patterns_have_their_positions_types() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Park;\nimpl Park {\n    pub fn shutdown(&self) {}\n}\n\
             pub struct Io;\nimpl Io {\n    pub fn shutdown(&self) {}\n}\n\
             pub enum Stack {\n    Enabled(u8, Io),\n    Disabled(Park),\n}\n\
             pub struct Half<'a>(&'a Io);\n\n\
             impl Stack {\n    pub fn stop(&self) {\n        match self {\n            Stack::Enabled(_, v) => v.shutdown(),\n\
             \x20           Self::Disabled(ref v) => v.shutdown(),\n        }\n    }\n}\n\n\
             impl<'a> Half<'a> {\n    pub fn close(&self) {\n        self.0.shutdown()\n    }\n}\n\n\
             pub struct Cell<T>(T);\nimpl<T> Cell<T> {\n    pub fn make() {}\n}\n\
             pub fn turbofish() {\n    Cell::<u8>::make();\n}\n",
        )],
    );
    // Each arm's `v` is its own variant's field: one certain edge each (both arms'
    // types for each `v` would make both calls ambiguous between the two).
    assert_eq!(
        callees(&store, "rust", "Stack::stop"),
        ["Io::shutdown (inferred)", "Park::shutdown (inferred)"]
    );
    assert_eq!(
        callees(&store, "rust", "Half::close"),
        ["Io::shutdown (inferred)"]
    );
    assert_eq!(callees(&store, "rust", "turbofish"), ["Cell::make (scope)"]);
}

#[test]
fn rust_paths_through_glob_reexports_and_inline_modules() {
    // tokio's `loom`: `crate::loom::sync::atomic::AtomicUsize` goes through `pub(crate)
    // use self::std::*;` and two inline modules of `loom/std/mod.rs`.
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[
            ("src/lib.rs", "mod loom;\nmod sync;\n"),
            (
                "src/loom/mod.rs",
                "#[cfg(not(loom))]\nmod std;\n#[cfg(not(loom))]\npub(crate) use self::std::*;\n",
            ),
            (
                "src/loom/std/mod.rs",
                "mod atomic_usize;\npub(crate) mod sync {\n    pub(crate) mod atomic {\n        pub(crate) use crate::loom::std::atomic_usize::AtomicUsize;\n    }\n}\n",
            ),
            (
                "src/loom/std/atomic_usize.rs",
                "pub(crate) struct AtomicUsize {\n    inner: u8,\n}\n\nimpl AtomicUsize {\n    pub(crate) const fn new(v: usize) -> AtomicUsize {\n        AtomicUsize { inner: 0 }\n    }\n    pub(crate) fn load(&self) -> usize {\n        0\n    }\n}\n",
            ),
            (
                "src/sync/mod.rs",
                "use crate::loom::sync::atomic::AtomicUsize;\n\npub fn count() -> usize {\n    let a = AtomicUsize::new(1);\n    a.load()\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "rust", "sync::count"),
        [
            "loom::std::atomic_usize::AtomicUsize::load (inferred)",
            "loom::std::atomic_usize::AtomicUsize::new (import)"
        ]
    );
}

#[test]
fn rust_an_iterator_returned_as_impl_iterator_holds_its_item() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Arg;\nimpl Arg {\n    pub fn get_id(&self) -> u32 { 0 }\n}\n\n\
             pub struct Other;\nimpl Other {\n    pub fn get_id(&self) -> u32 { 1 }\n}\n\n\
             pub struct Command {\n    args: Vec<Arg>,\n}\n\n\
             impl Command {\n\
             \x20   pub fn get_arguments(&self) -> impl Iterator<Item = &Arg> + '_ {\n        self.args.iter()\n    }\n\n\
             \x20   pub fn ids(&self) -> Vec<u32> {\n        self.get_arguments().map(|a| a.get_id()).collect()\n    }\n\n\
             \x20   pub fn each(&self) {\n        for a in self.get_arguments() {\n            a.get_id();\n        }\n    }\n}\n",
        )],
    );
    for caller in ["Command::ids", "Command::each"] {
        let callees = callees(&store, "rust", caller);
        assert!(
            callees.contains(&"Arg::get_id (inferred)".to_string()),
            "{caller}: {callees:?}"
        );
        assert!(
            !callees.iter().any(|c| c.starts_with("Other::")),
            "{caller}: {callees:?}"
        );
    }
}

/// The lines of `caller`'s calls to a definition whose qualified name ends with
/// `callee`, one per call edge.
fn call_site_lines(store: &MemoryStore, project: &str, caller: &str, callee: &str) -> Vec<u32> {
    let from = node(store, project, caller);
    let mut lines: Vec<u32> = store
        .edges(project, from.id, Direction::Outgoing, Some(EdgeKind::Calls))
        .unwrap()
        .into_iter()
        .filter(|e| {
            store
                .node(project, e.dst)
                .unwrap()
                .is_some_and(|n| n.qualified_name.ends_with(callee))
        })
        .filter_map(|e| e.span.map(|s| s.start_line))
        .collect();
    lines.sort_unstable();
    lines
}

#[test]
fn rust_paths_through_another_crate_of_the_workspace_by_its_manifests_name() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"store\", \"app\"]\n",
            ),
            (
                "store/Cargo.toml",
                "[package]\nname = \"graph-store\"\nversion = \"0.1.0\"\n",
            ),
            (
                "store/src/lib.rs",
                "mod index;\npub use index::{index, index_with};\n\n\
                 pub struct Store;\nimpl Store {\n    pub fn open() -> Store { Store }\n    pub fn flush(&self) {}\n}\n",
            ),
            (
                "store/src/index.rs",
                "pub fn index() {}\npub fn index_with() {}\n",
            ),
            (
                "store/tests/it.rs",
                "#[test]\nfn indexes() {\n    graph_store::index_with();\n}\n",
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\n\n[dependencies]\ngraph-store = { path = \"../store\" }\n",
            ),
            (
                "app/src/main.rs",
                "use graph_store::{index, Store};\n\n\
                 fn main() {\n    index();\n    let s = Store::open();\n    s.flush();\n    graph_store::index_with();\n    serde::de::from_str();\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "rust", "main"),
        [
            "Store::flush (inferred)",
            "Store::open (import)",
            "index::index (import)",
            "index::index_with (import)"
        ]
    );
    assert_eq!(
        callees(&store, "rust", "indexes"),
        ["index::index_with (import)"]
    );
    // A call lands on the function `use` brings in, not on the module of its name.
    // The manifest is the crate's node.
    let krate = node(&store, "rust", "graph_store");
    assert_eq!(krate.kind, NodeKind::Module);
    assert_eq!(krate.path, "store/Cargo.toml");
    assert_eq!(krate.signature.as_deref(), Some("store/src/lib.rs"));

    // A dependency renamed in a manifest is the crate it names, for that crate alone.
    index_files(
        &store,
        "renamed",
        &[
            ("store/Cargo.toml", "[package]\nname = \"graph-store\"\n"),
            ("store/src/lib.rs", "pub fn open() {}\n"),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\n\n[dependencies]\ngs = { package = \"graph-store\", path = \"../store\" }\n",
            ),
            ("app/src/main.rs", "fn main() {\n    gs::open();\n}\n"),
            ("tool/Cargo.toml", "[package]\nname = \"tool\"\n"),
            ("tool/src/main.rs", "fn run() {\n    gs::open();\n}\n"),
        ],
    );
    assert_eq!(callees(&store, "renamed", "main"), ["open (import)"]);
    assert!(callees(&store, "renamed", "run").is_empty());

    // A rename in `[workspace.dependencies]` holds for the crates below the workspace.
    index_files(
        &store,
        "inherited",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"store\", \"app\"]\n\n[workspace.dependencies]\ngs = { package = \"graph-store\", path = \"store\" }\n",
            ),
            ("store/Cargo.toml", "[package]\nname = \"graph-store\"\n"),
            ("store/src/lib.rs", "pub fn open() {}\n"),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\n\n[dependencies]\ngs = { workspace = true }\n",
            ),
            ("app/src/main.rs", "fn main() {\n    gs::open();\n}\n"),
        ],
    );
    assert_eq!(callees(&store, "inherited", "main"), ["open (import)"]);
}

#[test]
fn typescript_path_aliases_and_base_url_of_the_nearest_tsconfig() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[
            (
                "tsconfig.json",
                "{\n  // TypeScript allows comments\n  \"compilerOptions\": {\n    \"baseUrl\": \".\",\n    \"paths\": { \"@/*\": [\"src/*\"], },\n  },\n}\n",
            ),
            (
                "src/util/format.ts",
                "export function format(): string { return ''; }\n",
            ),
            ("src/lib/index.ts", "export function helper(): void {}\n"),
            (
                "src/app.ts",
                "import { format } from '@/util/format';\nimport { helper } from 'src/lib';\nimport { x } from 'react';\n\n\
                 export function run(): void {\n  format();\n  helper();\n  x();\n}\n",
            ),
            (
                "web/tsconfig.json",
                "{\"compilerOptions\": {\"paths\": {\"@/*\": [\"./lib/*\"]}}}\n",
            ),
            (
                "web/lib/format.ts",
                "export function format(): string { return ''; }\n",
            ),
            // What the root's alias would find for `@/format`.
            (
                "src/format.ts",
                "export function format(): string { return ''; }\n",
            ),
            (
                "web/main.ts",
                "import { format } from '@/format';\n\nexport function main(): void {\n  format();\n}\n",
            ),
        ],
    );
    let calls = |caller: &str| -> Vec<String> {
        let from = node(&store, "ts", caller);
        let mut out: Vec<String> = store
            .edges("ts", from.id, Direction::Outgoing, Some(EdgeKind::Calls))
            .unwrap()
            .into_iter()
            .map(|e| store.node("ts", e.dst).unwrap().unwrap().path)
            .collect();
        out.sort();
        out
    };
    assert_eq!(calls("run"), ["src/lib/index.ts", "src/util/format.ts"]);
    // The nearest configuration's alias wins over the root's.
    assert_eq!(calls("main"), ["web/lib/format.ts"]);

    // A configuration's aliases hold for the files of one that extends it, from
    // wherever it is (here a sibling directory, not above them).
    index_files(
        &store,
        "ext",
        &[
            (
                "config/tsconfig.base.json",
                "{\"compilerOptions\": {\"paths\": {\"#ui/*\": [\"../packages/ui/*\"]}}}\n",
            ),
            (
                "apps/site/tsconfig.json",
                "{\"extends\": \"../../config/tsconfig.base\"}\n",
            ),
            (
                "packages/ui/button.ts",
                "export function button(): void {}\n",
            ),
            (
                "apps/site/page.ts",
                "import { button } from '#ui/button';\n\nexport function page(): void {\n  button();\n}\n",
            ),
            (
                "apps/other/page.ts",
                "import { button } from '#ui/button';\n\nexport function other(): void {\n  button();\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "ext", "page"),
        ["button (import)"],
        "{}",
        common::export(&store, "ext")
    );
    // A file no configuration extending it covers does not see the alias.
    assert!(callees(&store, "ext", "other").is_empty());
}

#[test]
fn monorepo_packages_import_each_other_by_their_package_json_names() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "mono",
        &[
            // Exports into built output, which is not in the tree: its source is.
            (
                "packages/core/package.json",
                r#"{"name": "@acme/core", "exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.js"}, "./format": "./src/format.ts"}}"#,
            ),
            (
                "packages/core/src/index.ts",
                "export function boot(): void {}\n",
            ),
            (
                "packages/core/src/format.ts",
                "export function format(): string { return ''; }\n",
            ),
            (
                "packages/core/src/hidden.ts",
                "export function hidden(): void {}\n",
            ),
            // No `exports`: `main`, and any file by its path.
            (
                "packages/util/package.json",
                r#"{"name": "util-lib", "main": "lib/main.js"}"#,
            ),
            (
                "packages/util/lib/main.js",
                "function pad() {}\nmodule.exports = { pad };\n",
            ),
            (
                "packages/util/lib/deep/more.js",
                "export function more() {}\n",
            ),
            (
                "apps/web/src/app.ts",
                "import { boot } from '@acme/core';\nimport { format } from '@acme/core/format';\n\
                 import { hidden } from '@acme/core/src/hidden';\nimport { pad } from 'util-lib';\n\
                 import { more } from 'util-lib/lib/deep/more';\nimport { useState } from 'react';\n\n\
                 export function run(): void {\n  boot();\n  format();\n  hidden();\n  pad();\n  more();\n  useState();\n}\n",
            ),
        ],
    );
    let from = node(&store, "mono", "run");
    let mut calls: Vec<String> = store
        .edges("mono", from.id, Direction::Outgoing, Some(EdgeKind::Calls))
        .unwrap()
        .into_iter()
        .map(|e| {
            let n = store.node("mono", e.dst).unwrap().unwrap();
            format!("{}:{}", n.path, n.name)
        })
        .collect();
    calls.sort();
    // `exports` closes the package's other files (`@acme/core/src/hidden`); `react` is
    // not the project's.
    assert_eq!(
        calls,
        [
            "packages/core/src/format.ts:format",
            "packages/core/src/index.ts:boot",
            "packages/util/lib/deep/more.js:more",
            "packages/util/lib/main.js:pad",
        ],
        "{}",
        common::export(&store, "mono")
    );
}

#[test]
fn python_comprehensions_with_several_for_clauses_and_indexes_type_each_name() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "py",
        &[(
            "m.py",
            "class Cell:\n    def text(self):\n        return ''\n\n\
             class Row:\n    cells: list[Cell]\n    def size(self):\n        return 0\n\n\
             def f(rows: list[Row]):\n    return [(r.size(), c.text()) for r in rows for c in r.cells]\n\n\
             class Table:\n    def __getitem__(self, i) -> Row:\n        return Row()\n\
             \x20   def __iter__(self) -> Iterator[Cell]:\n        return iter([])\n\n\
             def g(t: Table):\n    t[0].size()\n",
        )],
    );
    assert_eq!(
        callees(&store, "py", "m.f"),
        ["m.Cell.text (inferred)", "m.Row.size (inferred)"]
    );
    // An index is what the type's `__getitem__` returns (its loops get `__iter__`'s).
    assert_eq!(callees(&store, "py", "m.g"), ["m.Row.size (inferred)"]);
}

#[test]
fn rust_the_second_name_of_a_pair_pattern_is_the_item() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "use std::collections::HashMap;\n\
             pub struct Item;\n\
             impl Item {\n    pub fn touch(&self) {}\n}\n\
             pub fn f(m: HashMap<String, Item>, v: Vec<Item>, w: Vec<Item>) {\n\
             \x20   for (_k, item) in &m {\n        item.touch();\n    }\n\
             \x20   m.iter().for_each(|(_, it)| it.touch());\n\
             \x20   for (_i, x) in v.iter().enumerate() {\n        x.touch();\n    }\n\
             \x20   v.iter().enumerate().for_each(|&(_i, ref y)| y.touch());\n\
             \x20   w.iter().zip(v.iter()).for_each(|(_a, b)| b.touch());\n\
             \x20   for (k, _) in &m {\n        k.touch();\n    }\n\
             }\n",
        )],
    );
    // A map's value, an enumerated item; not a zipped one (the other iterator's), nor
    // the first of a pair.
    assert_eq!(
        call_site_lines(&store, "rust", "f", "Item::touch"),
        [8, 10, 12, 14]
    );
}

#[test]
fn a_closures_parameter_and_a_narrowed_name_hold_inside_their_block_alone() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "pub struct Config;\nimpl Config {\n    pub fn apply(&self) {}\n}\n\n\
             pub struct Item;\nimpl Item {\n    pub fn touch(&self) {}\n    pub fn apply(&self) {}\n}\n\n\
             pub fn f(cfg: Config, v: Vec<Item>) {\n    v.iter().for_each(|cfg| cfg.touch());\n    cfg.apply();\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "f"),
        ["Config::apply (inferred)", "Item::touch (inferred)"]
    );
    index_files(
        &store,
        "py",
        &[(
            "m.py",
            "class Node:\n    children: list[\"Node\"]\n    def visit(self):\n        pass\n\n\
             class Mixin:\n    pass\n\n\
             class Tree:\n    root: Node\n    def walk(self, node: Node):\n        if isinstance(self, Mixin):\n            pass\n\
             \x20       self.root.visit()\n        for node in node.children:\n            node.visit()\n",
        )],
    );
    // Outside the narrowed block `self` is itself again; a loop over `node.children`
    // reads the parameter `node`.
    assert_eq!(
        call_site_lines(&store, "py", "m.Tree.walk", "Node.visit"),
        [14, 16]
    );
}

#[test]
fn rust_a_closures_parameters_have_the_types_its_callee_passes() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[
            (
                "src/arg.rs",
                "pub struct Arg;\nimpl Arg {\n    pub fn is_positional(&self) -> bool { true }\n}\n\n\
                 pub struct Handle;\nimpl Handle {\n    pub fn abort(&self) {}\n}\n\n\
                 pub struct Snapshot;\nimpl Snapshot {\n    pub fn ref_inc(&mut self) {}\n}\n\n\
                 pub struct Other;\nimpl Other {\n    pub fn is_positional(&self) -> bool { false }\n    \
                 pub fn abort(&self) {}\n    pub fn ref_inc(&mut self) {}\n}\n",
            ),
            (
                "src/lib.rs",
                "mod arg;\nuse crate::arg::{Arg, Handle, Snapshot};\n\n\
                 pub struct Command {\n    args: Vec<Arg>,\n}\n\n\
                 impl Command {\n\
                 \x20   fn args_of<F>(&self, n: usize, condition: F) -> usize\n    where\n        F: Fn(&Arg) -> bool,\n    { n }\n\n\
                 \x20   fn each(&self, mut f: impl FnMut(usize, &mut Handle)) {}\n\n\
                 \x20   fn update<F: for<'a> FnMut(Snapshot) -> Option<Snapshot>>(&self, f: F) {}\n\n\
                 \x20   fn boxed(&self, f: Box<dyn Fn(&Handle)>) {}\n\n\
                 \x20   pub fn run(&self) {\n\
                 \x20       self.args_of(0, |x| x.is_positional());\n\
                 \x20       self.each(|i, h| h.abort());\n\
                 \x20       self.update(|mut s| { s.ref_inc(); None });\n\
                 \x20       self.boxed(Box::new(|h| h.abort()));\n\
                 \x20       visit(|a| a.is_positional());\n\
                 \x20   }\n\n\
                 \x20   pub fn adapt(&self) -> usize {\n\
                 \x20       self.args.iter().fold(0, |n, a| if a.is_positional() { n + 1 } else { n });\n\
                 \x20       self.args.first().map_or(false, |a| a.is_positional());\n\
                 \x20       self.args.iter().max_by(|a, b| a.is_positional().cmp(&b.is_positional()));\n\
                 \x20       self.args.iter().for_each(|a| { a.is_positional(); });\n\
                 \x20       0\n\
                 \x20   }\n}\n\n\
                 fn visit(f: &dyn Fn(&Arg) -> bool) {}\n\n\
                 fn ufcs(c: &Command) {\n    Command::each(c, |i, h| h.abort());\n}\n",
            ),
        ],
    );
    // A method called by its path takes its receiver as the first argument: the
    // closure is the method's parameter one before.
    assert_eq!(
        callees(&store, "rust", "ufcs"),
        ["Command::each (scope)", "arg::Handle::abort (inferred)"]
    );
    // Each closure parameter takes the type its callee's declaration passes: a `where`
    // bound, `impl FnMut`, an inline bound under `for<'a>`, and `&dyn Fn`. A closure
    // inside `Box::new(..)` is given to `Box::new`, which says nothing.
    assert_eq!(
        call_site_lines(&store, "rust", "Command::run", "arg::Arg::is_positional"),
        [21, 25]
    );
    assert_eq!(
        call_site_lines(&store, "rust", "Command::run", "arg::Handle::abort"),
        [22]
    );
    assert_eq!(
        call_site_lines(&store, "rust", "Command::run", "arg::Snapshot::ref_inc"),
        [23]
    );
    // The standard library's adaptors pass what the receiver holds, at the position
    // each one passes it.
    assert_eq!(
        call_site_lines(&store, "rust", "Command::adapt", "arg::Arg::is_positional"),
        [29, 30, 31, 31, 32]
    );
    for caller in ["Command::run", "Command::adapt"] {
        let callees = callees(&store, "rust", caller);
        assert!(
            !callees.iter().any(|c| c.contains("Other::")),
            "{caller}: {callees:?}"
        );
    }
}

#[test]
fn rust_standard_views_of_a_value_keep_its_type() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "use std::pin::Pin;\n\n\
             pub struct Sleep;\nimpl Sleep {\n    pub fn reset(&mut self) {}\n}\n\n\
             pub struct Other;\nimpl Other {\n    pub fn reset(&mut self) {}\n}\n\n\
             #[derive(Clone)]\npub struct Config;\nimpl Config {\n    pub fn check(&self) {}\n}\n\n\
             pub struct Timer {\n    delay: Pin<Box<Sleep>>,\n    config: Config,\n}\n\n\
             impl Timer {\n    pub fn tick(&mut self) {\n        self.delay.as_mut().reset();\n\
             \x20       self.config.clone().check();\n    }\n}\n",
        )],
    );
    assert_eq!(
        callees(&store, "rust", "Timer::tick"),
        ["Config::check (inferred)", "Sleep::reset (inferred)"]
    );
}

#[test]
fn rust_what_options_results_and_collections_hold() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[(
            "src/lib.rs",
            "use std::sync::Arc;\n\n\
             pub struct Node;\nimpl Node {\n    pub fn visit(&self) {}\n}\n\n\
             pub struct Tree {\n    root: Option<Box<Node>>,\n    nodes: Vec<Node>,\n    shared: Arc<Node>,\n}\n\n\
             impl Tree {\n    pub fn find(&self) -> Option<&Node> { None }\n\n\
             \x20   pub fn walk(&self) {\n        if let Some(root) = &self.root {\n            root.visit();\n        }\n\
             \x20       for n in self.nodes.iter() {\n            n.visit();\n        }\n\
             \x20       self.nodes[0].visit();\n        self.find().unwrap().visit();\n        self.shared.visit();\n\
             \x20       match self.find() {\n            Some(n) => n.visit(),\n            None => {}\n        }\n\
             \x20       while let Some(n) = self.nodes.last() {\n            n.visit();\n        }\n    }\n\n\
             \x20   pub fn options(&self) {\n        // Option's own methods are not the project's.\n        self.root.map(|r| r);\n        self.find().is_some();\n    }\n}\n",
        )],
    );
    let edges = callees(&store, "rust", "Tree::walk");
    assert_eq!(edges, ["Node::visit (inferred)", "Tree::find (scope)"]);
    // Each of the seven `visit` calls has its edge.
    let walk = node(&store, "rust", "Tree::walk");
    let visits = store
        .edges("rust", walk.id, Direction::Outgoing, Some(EdgeKind::Calls))
        .unwrap()
        .into_iter()
        .filter(|e| {
            store
                .node("rust", e.dst)
                .unwrap()
                .is_some_and(|n| n.name == "visit")
        })
        .count();
    assert_eq!(visits, 7);
    assert!(
        callees(&store, "rust", "Tree::options")
            .iter()
            .all(|c| c == "Tree::find (scope)")
    );
}

#[test]
fn rust_a_glob_compiled_only_into_tests_is_no_candidate() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "rust",
        &[
            ("src/lib.rs", "mod loom;\nmod user;\n"),
            (
                "src/loom/mod.rs",
                "#[cfg(not(all(test, loom)))]\nmod std;\n#[cfg(not(all(test, loom)))]\npub(crate) use self::std::*;\n\n\
                 #[cfg(all(test, loom))]\nmod mocked;\n#[cfg(all(test, loom))]\npub(crate) use self::mocked::*;\n",
            ),
            (
                "src/loom/std.rs",
                "pub(crate) struct Mutex;\nimpl Mutex {\n    pub(crate) fn new() -> Mutex {\n        Mutex\n    }\n}\n",
            ),
            (
                "src/loom/mocked.rs",
                "pub(crate) struct Mutex;\nimpl Mutex {\n    pub(crate) fn new() -> Mutex {\n        Mutex\n    }\n}\n",
            ),
            (
                "src/user.rs",
                "use crate::loom::Mutex;\n\npub fn make() {\n    Mutex::new();\n}\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "rust", "user::make"),
        ["loom::std::Mutex::new (import)"]
    );
}

#[test]
fn overloads_are_told_apart_by_the_number_of_arguments() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "cpp",
        &[
            (
                "include/matchers.h",
                "namespace testing {\ntemplate <typename T>\nint Eq(T x) { return 0; }\nint Lt(int a, int b = 0) { return 0; }\n}\n",
            ),
            (
                "include/tuple_matchers.h",
                "namespace testing {\ninline int Eq() { return 1; }\ninline int Lt() { return 1; }\n}\n",
            ),
            (
                "test/matchers_test.cc",
                "#include \"matchers.h\"\n#include \"tuple_matchers.h\"\nnamespace testing {\nvoid one() { Eq(1); }\nvoid none() { Eq(); }\nvoid two() { Lt(1, 2); }\nvoid odd() { Eq(1, 2, 3); }\n}\n",
            ),
        ],
    );
    // The files the calls out of a function land in.
    let files = |store: &MemoryStore, project: &str, from: &str| -> Vec<String> {
        let mut out: Vec<String> = store
            .edges(
                project,
                node(store, project, from).id,
                Direction::Outgoing,
                Some(EdgeKind::Calls),
            )
            .unwrap()
            .into_iter()
            .map(|e| store.node(project, e.dst).unwrap().unwrap().path)
            .collect();
        out.sort();
        out
    };
    assert_eq!(files(&store, "cpp", "testing::one"), ["include/matchers.h"]);
    assert_eq!(
        files(&store, "cpp", "testing::none"),
        ["include/tuple_matchers.h"]
    );
    assert_eq!(files(&store, "cpp", "testing::two"), ["include/matchers.h"]);
    // No overload takes three: all stay candidates rather than none.
    assert_eq!(
        files(&store, "cpp", "testing::odd"),
        ["include/matchers.h", "include/tuple_matchers.h"]
    );

    let store = MemoryStore::new();
    index_files(
        &store,
        "java",
        &[(
            "src/p/Lists.java",
            "package p;\n\npublic class Lists {\n    static int of() { return 0; }\n    static int of(int a) { return 1; }\n    static int of(int a, int... rest) { return 2; }\n\n\
             \x20   void use() {\n        of();\n    }\n}\n",
        )],
    );
    let calls = store
        .edges(
            "java",
            node(&store, "java", "p.Lists.use").id,
            Direction::Outgoing,
            Some(EdgeKind::Calls),
        )
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
}

#[test]
fn a_method_called_on_a_new_instance_is_the_class_method() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/DataUriPlugin.js",
                "class DataUriPlugin {\n  constructor(options) {\n    this.options = options;\n  }\n  apply(compiler) {\n    return compiler;\n  }\n}\n\nmodule.exports = DataUriPlugin;\n",
            ),
            (
                "lib/WebpackOptionsApply.js",
                "const DataUriPlugin = require('./DataUriPlugin');\n\nfunction process(compiler) {\n  new DataUriPlugin().apply(compiler);\n}\n\nmodule.exports = process;\n",
            ),
        ],
    );
    assert!(
        callees(&store, "js", "process").contains(&"DataUriPlugin.apply (inferred)".to_string()),
        "{:?}",
        callees(&store, "js", "process")
    );
}

#[test]
fn a_cast_receiver_has_the_type_it_is_cast_to() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/Module.js",
                "class Module {\n  addDependency(dep) {\n    return dep;\n  }\n}\n\nmodule.exports = Module;\n",
            ),
            (
                "lib/Parser.js",
                "/** @typedef {import(\"./Module\")} Module */\n\nfunction walk(parser, dep) {\n  /** @type {Module} */ (parser.state.module).addDependency(dep);\n  return /** @type {Module} */ (parser.current).addDependency(dep);\n}\n\nmodule.exports = walk;\n",
            ),
        ],
    );
    let edges = node(&store, "js", "walk");
    let calls = store
        .edges("js", edges.id, Direction::Outgoing, Some(EdgeKind::Calls))
        .unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        callees(&store, "js", "walk"),
        ["Module.addDependency (import)"]
    );

    let store = MemoryStore::new();
    index_files(
        &store,
        "ts",
        &[(
            "src/a.ts",
            "export class Store {\n  get(k: string) {\n    return k;\n  }\n}\n\nexport function read(x: unknown) {\n  return (x as Store).get(\"k\");\n}\n",
        )],
    );
    assert_eq!(callees(&store, "ts", "read"), ["Store.get (scope)"]);
}

#[test]
fn a_commonjs_module_exports_object_holds_its_members() {
    let store = MemoryStore::new();
    index_files(
        &store,
        "js",
        &[
            (
                "lib/utils/ast-utils.js",
                "function isFunction(node) {\n  return !!node;\n}\n\nmodule.exports = {\n  isFunction,\n  isStringLiteral(node) {\n    return isFunction(node);\n  }\n};\n",
            ),
            (
                "lib/rules/prefer-template.js",
                "const astUtils = require(\"../utils/ast-utils\");\n\nfunction check(node) {\n  return astUtils.isStringLiteral(node);\n}\n\nmodule.exports = check;\n",
            ),
        ],
    );
    assert_eq!(
        callees(&store, "js", "check"),
        ["exports.isStringLiteral (import)"]
    );
}

#[test]
fn rust_modules_re_exporting_each_other_by_glob_end() {
    // `pub use a::*;` at the root and `use super::*;` in each of many children: a name
    // no module defines is looked for through the cycle once per module, not once per
    // path through it.
    let mut files = vec![(
        "src/lib.rs".to_string(),
        (0..12)
            .map(|i| format!("mod m{i};\npub use m{i}::*;\n"))
            .collect::<String>(),
    )];
    for i in 0..12 {
        files.push((
            format!("src/m{i}.rs"),
            format!(
                "use super::*;\n\npub fn f{i}() {{\n    missing();\n    crate::missing();\n}}\n"
            ),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let store = MemoryStore::new();
    index_files(&store, "rust", &files);
    assert!(callees(&store, "rust", "m0::f0").is_empty());
}
