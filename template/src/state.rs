//! What every handler can reach: the platform's parts (`state.db`,
//! `state.tokens`, ... through `Deref`) and the service's own, built once
//! at start-up in `build`. Add a field here and build it there; no platform
//! file changes.
use std::ops::Deref;

use crate::{config::Settings, platform::state::PlatformState};

/// Cheap to clone: shared parts go behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    platform: PlatformState,
}

impl AppState {
    /// Called once at start-up, with the platform's parts and the settings.
    pub async fn build(platform: PlatformState, _settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self { platform })
    }
}

impl Deref for AppState {
    type Target = PlatformState;

    fn deref(&self) -> &PlatformState {
        &self.platform
    }
}
