"""Dance-phrase libraries: the library on disk, importing takes, the transition prior M0."""
