//! Templated documents the product writes (the notification email, the dashboard page): one way
//! to set up a minijinja environment, so every template escapes alike.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// An environment holding `templates` (name, source), compiled once. Templates whose name ends
/// in `.html` are HTML-escaped; others (plain text) are not. Block tags take no room of their
/// own, so a text template reads like its output. A missing field is an error: a bug in the
/// template, not something to render as blank. Panics on a template that does not compile (they
/// are compiled into the binary, and a test renders each).
pub fn environment(templates: &[(&'static str, &'static str)]) -> Environment<'static> {
    let mut env = Environment::new();
    // Set before the templates are added: they are compiled with the settings of that moment.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, source) in templates {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // minijinja's HTML escaping also turns `/` into `&#x2f;`, which makes every path in the
    // source unreadable; inside element text and quoted attributes `/` is harmless.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
            out.write_str(&escape(text)).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Escapes the characters that mean something in HTML text and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_templates_escape_markup_but_keep_paths_readable() {
        let env = environment(&[("a.html", "<p>{{ v }}</p>"), ("a.txt", "{{ v }}")]);
        let v = "IMOS/x <b>&'\"";
        let html = env
            .get_template("a.html")
            .unwrap()
            .render(minijinja::context! { v })
            .unwrap();
        assert_eq!(html, "<p>IMOS/x &lt;b&gt;&amp;&#39;&quot;</p>");
        let text = env
            .get_template("a.txt")
            .unwrap()
            .render(minijinja::context! { v })
            .unwrap();
        assert_eq!(text, v);
        assert!(
            env.get_template("a.txt")
                .unwrap()
                .render(minijinja::context! {})
                .is_err()
        );
    }
}
