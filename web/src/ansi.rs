//! Guest output with ANSI colours: escape sequences parsed by `vte` (the terminal parser
//! used by Alacritty), SGR colour/bold codes turned into styled segments.

/// A run of text with one style (CSS classes like `fg-2 bold`).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// CSS classes for the segment ("" for plain).
    pub class: String,
    /// The text.
    pub text: String,
}

#[derive(Default)]
struct Styler {
    fg: Option<u16>,
    bold: bool,
    segments: Vec<Segment>,
}

impl Styler {
    fn class(&self) -> String {
        let mut c = Vec::new();
        if let Some(fg) = self.fg {
            c.push(format!("fg-{fg}"));
        }
        if self.bold {
            c.push("bold".to_string());
        }
        c.join(" ")
    }

    fn push(&mut self, ch: char) {
        let class = self.class();
        match self.segments.last_mut() {
            Some(s) if s.class == class => s.text.push(ch),
            _ => self.segments.push(Segment {
                class,
                text: ch.to_string(),
            }),
        }
    }
}

impl vte::Perform for Styler {
    fn print(&mut self, c: char) {
        self.push(c);
    }

    fn execute(&mut self, byte: u8) {
        if byte == b'\n' || byte == b'\t' {
            self.push(byte as char);
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, _: &[u8], _: bool, action: char) {
        if action != 'm' {
            return;
        }
        let codes: Vec<u16> = params.iter().flat_map(|p| p.iter().copied()).collect();
        for code in if codes.is_empty() { vec![0] } else { codes } {
            match code {
                0 => {
                    self.fg = None;
                    self.bold = false;
                }
                1 => self.bold = true,
                22 => self.bold = false,
                30..=37 => self.fg = Some(code - 30),
                90..=97 => self.fg = Some(code - 90 + 8),
                39 => self.fg = None,
                _ => {}
            }
        }
    }
}

/// Splits terminal output into styled segments; unknown escapes are dropped.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut parser = vte::Parser::new();
    let mut styler = Styler::default();
    parser.advance(&mut styler, text.as_bytes());
    styler.segments
}
