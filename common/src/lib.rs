//! Pieces shared by the server and the trainer: both write MLflow's
//! `utc_time_created` (an `MLmodel` field and a logged-model tag) and must
//! write it the same way.

pub mod civil;
