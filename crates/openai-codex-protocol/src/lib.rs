//! Placeholder until codegen lands.
