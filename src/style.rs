//! Terminal styles: one palette, with colour only when the output is a terminal and `NO_COLOR`
//! is unset; every renderer takes a palette, so plain and coloured output never drift apart.

use anstyle::{AnsiColor, Style};

#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub error: Style,
    pub warning: Style,
    pub pass: Style,
    pub bold: Style,
    pub dim: Style,
    pub removed: Style,
    pub added: Style,
}

impl Palette {
    pub fn plain() -> Palette {
        Palette {
            error: Style::new(),
            warning: Style::new(),
            pass: Style::new(),
            bold: Style::new(),
            dim: Style::new(),
            removed: Style::new(),
            added: Style::new(),
        }
    }

    pub fn colored() -> Palette {
        Palette {
            error: AnsiColor::Red.on_default().bold(),
            warning: AnsiColor::Yellow.on_default().bold(),
            pass: AnsiColor::Green.on_default().bold(),
            bold: Style::new().bold(),
            dim: AnsiColor::Blue.on_default(),
            removed: AnsiColor::Red.on_default(),
            added: AnsiColor::Green.on_default(),
        }
    }

    /// Colour for standard output when it is a terminal and the user has not asked for none
    /// (`NO_COLOR`, `CLICOLOR=0`); `CLICOLOR_FORCE` forces it on.
    pub fn for_stdout() -> Palette {
        Palette::choose(anstream::AutoStream::choice(&std::io::stdout()))
    }

    /// The same for standard error.
    pub fn for_stderr() -> Palette {
        Palette::choose(anstream::AutoStream::choice(&std::io::stderr()))
    }

    fn choose(choice: anstream::ColorChoice) -> Palette {
        match choice {
            anstream::ColorChoice::Never => Palette::plain(),
            _ => Palette::colored(),
        }
    }
}
