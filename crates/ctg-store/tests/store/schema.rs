//! The migrations are written twice, once per dialect: after all of them, SQLite and PostgreSQL must
//! hold the same tables with the same columns, each nullable on both or on neither. The types are
//! not compared: they differ by dialect (`INTEGER` and `BIGINT`, `TEXT` and `DATE`…).

use std::collections::BTreeMap;

use ctg_store::testing::TestDb;
use ctg_store::Backend;

/// Table → column → nullable. Without the migrations' own bookkeeping table.
type Schema = BTreeMap<String, BTreeMap<String, bool>>;

async fn sqlite_schema(url: &str) -> Schema {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table,) in tables {
        let columns: Vec<(String, bool, i64)> =
            sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info($1)")
                .bind(&table)
                .fetch_all(&pool)
                .await
                .unwrap();
        // A column of the primary key counts as NOT NULL, as SQL and PostgreSQL have it. SQLite's
        // table_info does not mark it so (and, by an old bug kept for compatibility, a key other than
        // an INTEGER PRIMARY KEY does accept a NULL): what the two dialects must agree on is the
        // declaration, and `TEXT PRIMARY KEY` is the same on both.
        let columns = columns.into_iter().map(|(name, not_null, pk)| (name, !not_null && pk == 0)).collect();
        schema.insert(table, columns);
    }
    pool.close().await;
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let columns: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES' FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column, nullable) in columns {
        schema.entry(table).or_default().insert(column, nullable);
    }
    pool.close().await;
    schema
}

/// One line per difference, in the order of the tables and their columns.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let nullable = |n: bool| if n { "nullable" } else { "NOT NULL" };
    let mut out = Vec::new();
    let tables: std::collections::BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        let (s, p) = match (sqlite.get(table), postgres.get(table)) {
            (Some(s), Some(p)) => (s, p),
            (Some(_), None) => {
                out.push(format!("table {table}: only on SQLite"));
                continue;
            }
            (None, _) => {
                out.push(format!("table {table}: only on PostgreSQL"));
                continue;
            }
        };
        let columns: std::collections::BTreeSet<&String> = s.keys().chain(p.keys()).collect();
        for column in columns {
            match (s.get(column), p.get(column)) {
                (Some(a), Some(b)) if a != b => out.push(format!(
                    "table {table}, column {column}: {} on SQLite, {} on PostgreSQL",
                    nullable(*a),
                    nullable(*b)
                )),
                (Some(_), Some(_)) => {}
                (Some(_), None) => out.push(format!("table {table}, column {column}: only on SQLite")),
                (None, _) => out.push(format!("table {table}, column {column}: only on PostgreSQL")),
            }
        }
    }
    out
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_tables_and_columns() {
    let sqlite_db = TestDb::new(Backend::Sqlite).await;
    let postgres_db = TestDb::new(Backend::Postgres).await;
    let sqlite = sqlite_schema(&sqlite_db.url).await;
    let postgres = postgres_schema(&postgres_db.url).await;
    assert!(sqlite.len() > 40, "the SQLite schema was not read: {:?}", sqlite.keys());
    let found = differences(&sqlite, &postgres);
    assert!(
        found.is_empty(),
        "the SQLite and PostgreSQL schemas differ after all migrations ({} difference(s)):\n  {}",
        found.len(),
        found.join("\n  ")
    );
    sqlite_db.finish().await;
    postgres_db.finish().await;
}

#[test]
fn differences_are_named_table_by_table() {
    let schema = |tables: &[(&str, &[(&str, bool)])]| -> Schema {
        tables
            .iter()
            .map(|(t, cols)| (t.to_string(), cols.iter().map(|(c, n)| (c.to_string(), *n)).collect()))
            .collect()
    };
    let sqlite = schema(&[("a", &[("id", false), ("x", true)]), ("b", &[("id", false)])]);
    let postgres = schema(&[("a", &[("id", false), ("x", false), ("y", true)]), ("c", &[("id", false)])]);
    assert_eq!(
        differences(&sqlite, &postgres),
        [
            "table a, column x: nullable on SQLite, NOT NULL on PostgreSQL",
            "table a, column y: only on PostgreSQL",
            "table b: only on SQLite",
            "table c: only on PostgreSQL",
        ]
    );
    assert!(differences(&sqlite, &sqlite).is_empty());
}
