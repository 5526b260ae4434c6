//! Token minting and verification (TOKENS helper replaces this file).
