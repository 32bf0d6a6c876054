"""Where documents, vectors and the lexical statistics live: one protocol, engines chosen by settings."""
