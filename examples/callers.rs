//! Index a directory into a store, ask who calls a function, then change a file and
//! update the graph incrementally, all through the library API.
//!
//!     cargo run --release --example callers -- path/to/repo [SYMBOL]
//!
//! Without arguments it writes a small Python project to a temporary directory and
//! works on that, so it runs anywhere (CI runs it that way).

use std::path::{Path, PathBuf};

use codegraph::core::Direction;
use codegraph::parse::filter::{Filter, FilterConfig};
use codegraph::parse::source::DirectorySource;
use codegraph::parse::{ExtractOptions, Pipeline};
use codegraph::store::query;
use codegraph::store::{IndexOptions, IndexProgress, RocksStore, index};

fn index_dir(store: &RocksStore, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut source = DirectorySource::new(dir)?;
    let pipeline = Pipeline::new(
        Filter::new(FilterConfig::default())?,
        ExtractOptions::default(),
    );
    let report = index(
        store,
        "demo",
        &mut source,
        pipeline,
        &IndexOptions::default(),
        &IndexProgress::default(),
    )?;
    println!(
        "indexed: {} parsed, {} unchanged, {} removed, {} resolved, {} edges, {:.3} s",
        report.parsed,
        report.unchanged,
        report.removed,
        report.resolved,
        report.edges_written,
        report.total_time.as_secs_f64()
    );
    Ok(())
}

fn print_callers(store: &RocksStore, symbol: &str) -> Result<(), Box<dyn std::error::Error>> {
    for node in query::lookup(store, "demo", symbol)? {
        println!(
            "callers of {} ({}:{}):",
            node.qualified_name, node.path, node.span.start_line
        );
        for caller in query::calls(store, "demo", node.id, Direction::Incoming)? {
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
    let store = RocksStore::open(demo.path().join("db"))?;
    index_dir(&store, &dir)?;
    print_callers(&store, &symbol)?;

    if is_demo {
        // A second caller appears; only the changed file is parsed again.
        std::fs::write(
            dir.join("shop/report.py"),
            "from shop.prices import total\n\ndef daily(carts):\n    return [total(c.items) for c in carts]\n",
        )?;
        index_dir(&store, &dir)?;
        print_callers(&store, &symbol)?;
    }
    Ok(())
}
