//! The integration tests of the platform, in one binary so that the suite links once: the
//! command line, the pages and the API over HTTP (on SQLite and PostgreSQL), the rights, CSRF and
//! OpenAPI checks derived from the route table, and the journeys in Chromium.
//! Helpers shared by all live in `common`.

mod common;

mod accounts;
mod api_reference;
mod backup;
mod browser;
mod browser_logos;
mod cli;
mod cli_offer;
mod demo;
mod exports;
mod funds;
mod governance;
mod life;
mod offer;
mod opendata;
mod outbox;
mod pdf_documents;
mod plan;
mod portfolio;
mod public_page;
mod renewal;
mod rights;
mod routes;
mod smtp_reminders;
mod sppe;
mod web;
