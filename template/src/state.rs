use std::sync::Arc;

use crate::{
    auth::{Jail, Passwords, Tokens},
    db::Db,
};

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub jail: Jail,
}
