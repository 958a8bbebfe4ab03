//! The only file that names rppal (retired upstream; keep it swappable):
//! the button as a pulled-up, debounced input with interrupts on both
//! edges, and the LED as an output pin.

use super::{ButtonEdges, GpioError, OutputPin};
use crate::session::Input;
use ::rppal::gpio::{Error, Gpio, InputPin, Level, Trigger};
use std::time::Duration;
use tokio::sync::mpsc;

fn error(pin: u8, e: Error) -> GpioError {
    match e {
        Error::PermissionDenied(path) => GpioError::PermissionDenied { pin, path },
        Error::UnknownModel => GpioError::NotAPi,
        Error::PinUsed(p) => GpioError::PinUsed { pin: p },
        Error::PinNotAvailable(p) => GpioError::NoSuchPin { pin: p },
        other => GpioError::Other {
            pin,
            reason: other.to_string(),
        },
    }
}

/// The LED pin.
pub struct RppalLed(::rppal::gpio::OutputPin);

impl OutputPin for RppalLed {
    fn set(&mut self, on: bool) {
        if on {
            self.0.set_high();
        } else {
            self.0.set_low();
        }
    }
}

/// Open the button (its edges go to `inputs`) and the LED. Keep the
/// returned button alive: dropping it stops the interrupts. rppal resets
/// both pins when they are dropped.
pub fn open(
    cfg: &crate::config::Gpio,
    inputs: mpsc::Sender<Input>,
) -> Result<(RppalLed, InputPin), GpioError> {
    let gpio = Gpio::new().map_err(|e| error(cfg.button_pin, e))?;
    let mut button = gpio
        .get(cfg.button_pin)
        .map_err(|e| error(cfg.button_pin, e))?
        .into_input_pullup();
    let mut edges = ButtonEdges::new(inputs);
    edges.level(button.read() == Level::High);
    button
        .set_async_interrupt(
            Trigger::Both,
            Some(Duration::from_millis(u64::from(cfg.debounce_ms))),
            move |event| edges.level(event.trigger == Trigger::RisingEdge),
        )
        .map_err(|e| error(cfg.button_pin, e))?;
    let mut led = gpio
        .get(cfg.led_pin)
        .map_err(|e| error(cfg.led_pin, e))?
        .into_output();
    led.set_low();
    Ok((RppalLed(led), button))
}
