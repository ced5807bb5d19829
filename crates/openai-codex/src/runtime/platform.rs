//! Which wheel fits this machine: wheel platform tags for the OS and CPU the SDK was built for.

/// The wheel platform tag patterns for this machine, best first. A tag matches a pattern when it
/// starts with the pattern's prefix and ends with its suffix (`manylinux_2_17_x86_64` matches
/// `("manylinux", "_x86_64")`).
///
/// # Examples
///
/// ```
/// let tags = openai_codex::runtime::current_platform_tags();
/// assert!(!tags.is_empty() || cfg!(not(any(target_os = "linux", target_os = "macos", target_os = "windows"))));
/// ```
pub fn current_platform_tags() -> Vec<(&'static str, &'static str)> {
    let arch = if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        return Vec::new();
    };
    if cfg!(target_os = "linux") {
        let suffix = if arch == "x86_64" {
            "_x86_64"
        } else {
            "_aarch64"
        };
        // The runtime inside both Linux wheels is a static musl binary; the tag only says which
        // libc the installer runs on, so prefer the matching one and accept the other.
        if cfg!(target_env = "musl") {
            vec![("musllinux", suffix), ("manylinux", suffix)]
        } else {
            vec![("manylinux", suffix), ("musllinux", suffix)]
        }
    } else if cfg!(target_os = "macos") {
        if arch == "x86_64" {
            vec![("macosx", "_x86_64"), ("macosx", "_universal2")]
        } else {
            vec![("macosx", "_arm64"), ("macosx", "_universal2")]
        }
    } else if cfg!(target_os = "windows") {
        if arch == "x86_64" {
            vec![("win", "_amd64")]
        } else {
            vec![("win", "_arm64")]
        }
    } else {
        Vec::new()
    }
}

/// How well a wheel file name fits this machine: `Some(rank)` (0 is best), `None` when it does
/// not fit. The platform tag is the last `-` field of the name and may be compound
/// (`manylinux_2_17_x86_64.manylinux2014_x86_64`).
///
/// # Examples
///
/// ```
/// use openai_codex::runtime::wheel_matches_platform;
///
/// let none = wheel_matches_platform("openai_codex_cli_bin-0.163.0-py3-none-some_other_os.whl");
/// assert_eq!(none, None);
/// ```
pub fn wheel_matches_platform(filename: &str) -> Option<usize> {
    let stem = filename.strip_suffix(".whl")?;
    let platform = stem.rsplit('-').next()?;
    let patterns = current_platform_tags();
    platform
        .split('.')
        .filter_map(|tag| {
            patterns
                .iter()
                .position(|(prefix, suffix)| tag.starts_with(prefix) && tag.ends_with(suffix))
        })
        .min()
}

/// A short description of this machine for error messages (`linux x86_64`).
pub(crate) fn describe() -> String {
    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_arch = "x86_64", not(target_env = "musl")))]
    #[test]
    fn glibc_linux_prefers_manylinux_and_accepts_musllinux() {
        assert_eq!(
            wheel_matches_platform("x-1-py3-none-manylinux_2_17_x86_64.whl"),
            Some(0)
        );
        assert_eq!(
            wheel_matches_platform("x-1-py3-none-musllinux_1_1_x86_64.whl"),
            Some(1)
        );
        assert_eq!(
            wheel_matches_platform("x-1-py3-none-manylinux_2_17_aarch64.whl"),
            None
        );
        assert_eq!(wheel_matches_platform("x-1-py3-none-win_amd64.whl"), None);
        assert_eq!(
            wheel_matches_platform("x-1-py3-none-foo.manylinux2014_x86_64.whl"),
            Some(0)
        );
    }
}
