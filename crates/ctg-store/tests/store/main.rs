//! The storage suite, in one test binary: every test of [`backend_tests!`](ctg_store::backend_tests)
//! runs unchanged on SQLite (`…::sqlite`) and on PostgreSQL (`…::postgres`), each on its own database.
//! The PostgreSQL tests need `CTG_TEST_POSTGRES_URL`; `./test.sh` leaves out the tests whose name has
//! `postgres` in it when no server answers.

mod fixtures;

mod accounts;
mod basics;
mod commitments;
mod documents;
mod governance;
mod life;
mod offer;
mod plan;
mod schema;
mod versioned;
