//! Typed tables: rows and their events, declarations checked up front, queries, and schema
//! evolution.

mod check;
mod evolve;
mod query;
mod rows;
