//! Index a directory into a store, ask who calls a function, then change a file and
//! update the graph incrementally, all through the engine's API (`codegraph::Db`).
//!
//!     cargo run --release --example callers -- path/to/repo [SYMBOL]
//!
//! Without arguments it writes a small Python project to a temporary directory and
//! works on that, so it runs anywhere (CI runs it that way).

use std::path::{Path, PathBuf};

use codegraph::{Budget, Cancel, Db, DbOptions, IndexConfig, Input, Progress};

fn index_dir(db: &Db, dir: &Path) -> codegraph::Result<()> {
    let input = Input::directory(dir);
    let report = db.index(
        "demo",
        input,
        &IndexConfig::default(),
        &Progress::default(),
        &Cancel::new(),
    )?;
    println!(
        "indexed: {} parsed, {} unchanged, {} removed, {} resolved, {} edges, {:.3} s",
        report.parsed,
        report.unchanged,
        report.removed,
        report.resolved,
        report.edges_written,
        report.seconds
    );
    Ok(())
}

fn print_callers(db: &Db, symbol: &str) -> codegraph::Result<()> {
    // Whole answers: a server would give each request a bounded budget instead.
    let all = Budget::unlimited();
    for node in db.lookup("demo", symbol, &all)? {
        println!(
            "callers of {} ({}:{}):",
            node.qualified_name, node.path, node.span.start_line
        );
        for caller in db.callers("demo", node.id, &all)? {
            println!(
                "  {}:{}  {}  [{}]",
                caller.site_path.unwrap_or_default(),
                caller.site_line.unwrap_or(0),
                caller.node.qualified_name,
                caller.resolution
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = tempfile::tempdir()?;
    let (dir, symbol, is_demo) = match args.first() {
        Some(dir) => (
            PathBuf::from(dir),
            args.get(1).cloned().unwrap_or_else(|| "main".into()),
            false,
        ),
        None => {
            let dir = demo.path().join("shop");
            std::fs::create_dir_all(dir.join("shop"))?;
            std::fs::write(dir.join("shop/__init__.py"), "")?;
            std::fs::write(
                dir.join("shop/prices.py"),
                "def total(items):\n    return sum(price(i) for i in items)\n\ndef price(item):\n    return item.cost\n",
            )?;
            std::fs::write(
                dir.join("shop/cart.py"),
                "from .prices import total\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n\n    def checkout(self):\n        return total(self.items)\n",
            )?;
            (dir, "shop.prices.total".to_string(), true)
        }
    };
    let db = Db::open(demo.path().join("db"), DbOptions::default())?;
    index_dir(&db, &dir)?;
    print_callers(&db, &symbol)?;

    if is_demo {
        // A second caller appears; only the changed file is parsed again.
        std::fs::write(
            dir.join("shop/report.py"),
            "from shop.prices import total\n\ndef daily(carts):\n    return [total(c.items) for c in carts]\n",
        )?;
        index_dir(&db, &dir)?;
        print_callers(&db, &symbol)?;
    }
    Ok(())
}
