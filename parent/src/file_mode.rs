//! The suite's file creation mask, as keepalived sets it: `-u`/`--umask`
//! on the command line wins, else `umask` in `global_defs`, else
//! keepalived's default 0177 (files rw for root only). Notify scripts and
//! the children inherit it, as keepalived's scripts do.

/// keepalived 2.2.7's default (`S_IXUSR | S_IRWXG | S_IRWXO`).
pub const DEFAULT_UMASK: u32 = 0o177;

/// `-u MASK`: strtoll base 0 (`0177`, `0x7f`, `127`), at most 0777.
/// keepalived prints this and keeps its default when it does not parse.
pub fn parse_cli(arg: &str) -> Result<u32, String> {
    keepalived_config::umask_number(arg).ok_or_else(|| format!("Invalid --umask option {arg}"))
}

/// The mask in force for this command line and configuration.
pub fn effective(cmdline: Option<u32>, config: Option<u32>) -> u32 {
    cmdline.or(config).unwrap_or(DEFAULT_UMASK)
}

/// Set the process's umask (inherited by every process spawned after).
pub fn apply(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        mask as libc::mode_t,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_forms_as_strtoll_base_0() {
        assert_eq!(parse_cli("0177"), Ok(0o177));
        assert_eq!(parse_cli("0x1ff"), Ok(0o777));
        assert_eq!(parse_cli("18"), Ok(18));
        assert_eq!(parse_cli("0"), Ok(0));
        assert_eq!(
            parse_cli("01000"),
            Err("Invalid --umask option 01000".into())
        );
        assert!(parse_cli("0189").is_err());
        assert!(parse_cli("abc").is_err());
        assert!(parse_cli("-1").is_err());
    }

    #[test]
    fn command_line_over_configuration_over_default() {
        assert_eq!(effective(Some(0o22), Some(0o77)), 0o22);
        assert_eq!(effective(None, Some(0o77)), 0o77);
        assert_eq!(effective(None, None), 0o177);
    }
}
