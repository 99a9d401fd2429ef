//! Data-forwarder mode (to be written).
