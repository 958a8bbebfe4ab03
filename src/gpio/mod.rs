//! The push button and the LED. The hardware sits behind two tiny traits,
//! [`OutputPin`] and the button's edges (sent as session inputs), so that the
//! one file that names a GPIO library (`rppal.rs`, retired upstream) can be
//! swapped. LED patterns are played by a small tokio task.

#[cfg(feature = "gpio-rppal")]
pub mod rppal;

use crate::devices::Indicator;
use crate::session::{Input, Led};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// A problem with the GPIO. Each says what failed, where, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("GPIO {pin}: permission denied ({path}){}", crate::fix::Line(self))]
    PermissionDenied { pin: u8, path: String },
    #[error(
        "not a Raspberry Pi (the board could not be identified){}",
        crate::fix::Line(self)
    )]
    NotAPi,
    #[error("GPIO {pin} is already in use{}", crate::fix::Line(self))]
    PinUsed { pin: u8 },
    #[error("GPIO {pin} does not exist on this board{}", crate::fix::Line(self))]
    NoSuchPin { pin: u8 },
    #[error("GPIO {pin}: {reason}{}", crate::fix::Line(self))]
    Other { pin: u8, reason: String },
    #[error("this build has no GPIO support{}", crate::fix::Line(self))]
    NotBuilt,
}

impl crate::fix::Fix for GpioError {
    fn fix(&self) -> Option<String> {
        match self {
            GpioError::PermissionDenied { .. } => Some("add the user to the gpio group: sudo adduser $USER gpio (then log in again)".into()),
            GpioError::NotAPi => Some("set gpio.backend = \"none\" in the config".into()),
            GpioError::PinUsed { .. } => Some("another program or overlay holds the pin; choose a free pin in gpio.button_pin / gpio.led_pin".into()),
            GpioError::NoSuchPin { .. } => Some("use a BCM pin number from 0 to 27".into()),
            GpioError::Other { .. } => Some("check the wiring and that the GPIO driver is loaded (ls /dev/gpiochip*)".into()),
            GpioError::NotBuilt => Some("build with `--features gpio-rppal`, or set gpio.backend = \"none\"".into()),
        }
    }
}

/// A digital output: on or off.
pub trait OutputPin: Send + 'static {
    fn set(&mut self, on: bool);
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A slow heartbeat: alive and waiting for the button.
const IDLE: &[(bool, Duration)] = &[(true, ms(120)), (false, ms(2880))];
/// Steady on.
const RUNNING: &[(bool, Duration)] = &[(true, ms(1000))];
/// A slow blink.
const PAUSED: &[(bool, Duration)] = &[(true, ms(700)), (false, ms(700))];
/// A fast triple blink, then a pause.
const ERROR: &[(bool, Duration)] = &[
    (true, ms(100)),
    (false, ms(100)),
    (true, ms(100)),
    (false, ms(100)),
    (true, ms(100)),
    (false, ms(900)),
];

/// What the LED does for a state: a cycle of (on, duration) steps.
pub fn pattern(led: Led) -> &'static [(bool, Duration)] {
    match led {
        Led::Idle => IDLE,
        Led::Running => RUNNING,
        Led::Paused => PAUSED,
        Led::Error => ERROR,
    }
}

/// The LED, driven by a task that plays the pattern of the latest state.
/// A brief flicker (`flicker`) acknowledges a heard command.
pub struct LedIndicator {
    state: watch::Sender<(Led, u64)>,
    flickers: u64,
}

impl LedIndicator {
    /// Start driving `pin`. The LED goes off when the indicator is dropped
    /// (or the runtime shuts down).
    pub fn spawn(mut pin: impl OutputPin) -> LedIndicator {
        let (tx, mut rx) = watch::channel((Led::Idle, 0u64));
        tokio::spawn(async move {
            let mut last_flicker = 0;
            loop {
                let (led, flicker) = *rx.borrow_and_update();
                if flicker != last_flicker {
                    last_flicker = flicker;
                    // Off-on-off-on: visible, short.
                    for on in [false, true, false] {
                        pin.set(on);
                        tokio::time::sleep(Duration::from_millis(60)).await;
                    }
                }
                for &(on, dur) in pattern(led) {
                    pin.set(on);
                    tokio::select! {
                        _ = tokio::time::sleep(dur) => {}
                        changed = rx.changed() => {
                            if changed.is_err() {
                                pin.set(false);
                                return;
                            }
                            break;
                        }
                    }
                }
                if rx.has_changed().is_err() {
                    pin.set(false);
                    return;
                }
            }
        });
        LedIndicator {
            state: tx,
            flickers: 0,
        }
    }

    /// A brief flicker, e.g. when a command is heard.
    pub fn flicker(&mut self) {
        self.flickers += 1;
        let led = self.state.borrow().0;
        let _ = self.state.send((led, self.flickers));
    }
}

impl Indicator for LedIndicator {
    fn set(&mut self, led: Led) {
        let _ = self.state.send((led, self.flickers));
    }
}

/// Turns debounced button levels into session inputs: pressed on a falling
/// edge (active low, pull-up), released on a rising one. Repeated levels
/// (bounce that got through) are ignored.
#[derive(Debug, Clone)]
pub struct ButtonEdges {
    pressed: bool,
    inputs: mpsc::Sender<Input>,
}

impl ButtonEdges {
    pub fn new(inputs: mpsc::Sender<Input>) -> ButtonEdges {
        ButtonEdges {
            pressed: false,
            inputs,
        }
    }

    /// The pin reads `high` now.
    pub fn level(&mut self, high: bool) {
        let pressed = !high;
        if pressed == self.pressed {
            return;
        }
        self.pressed = pressed;
        let input = if pressed {
            Input::ButtonPressed
        } else {
            Input::ButtonReleased
        };
        // From an interrupt thread: never block.
        let _ = self.inputs.try_send(input);
    }
}

/// The open GPIO: the LED, and whatever must stay alive for the button's
/// interrupts to keep coming.
pub struct Opened {
    pub led: LedIndicator,
    pub button: Box<dyn std::any::Any + Send>,
}

/// The GPIO backend the config asks for: the button's edges go to `inputs`;
/// the LED is returned (none with backend "none").
pub fn open(
    cfg: &crate::config::Gpio,
    inputs: mpsc::Sender<Input>,
) -> Result<Option<Opened>, GpioError> {
    match cfg.backend {
        crate::config::GpioBackend::None => {
            let _ = inputs;
            Ok(None)
        }
        #[cfg(feature = "gpio-rppal")]
        crate::config::GpioBackend::Rppal => {
            let (led, button) = rppal::open(cfg, inputs)?;
            Ok(Some(Opened {
                led: LedIndicator::spawn(led),
                button: Box::new(button),
            }))
        }
        #[cfg(not(feature = "gpio-rppal"))]
        crate::config::GpioBackend::Rppal => Err(GpioError::NotBuilt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct FakePin(Arc<Mutex<Vec<(tokio::time::Instant, bool)>>>);

    impl OutputPin for FakePin {
        fn set(&mut self, on: bool) {
            if let Ok(mut v) = self.0.lock() {
                v.push((tokio::time::Instant::now(), on));
            }
        }
    }

    #[test]
    fn button_levels_become_one_press_and_one_release() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut b = ButtonEdges::new(tx);
        for high in [true, false, false, true, true] {
            b.level(high);
        }
        assert_eq!(rx.try_recv().ok(), Some(Input::ButtonPressed));
        assert_eq!(rx.try_recv().ok(), Some(Input::ButtonReleased));
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_led_plays_each_pattern_and_goes_off_at_the_end() {
        let pin = FakePin::default();
        let log = pin.0.clone();
        let mut led = LedIndicator::spawn(pin);
        let t0 = tokio::time::Instant::now();
        led.set(Led::Paused);
        tokio::time::sleep(Duration::from_millis(3000)).await;
        led.set(Led::Error);
        tokio::time::sleep(Duration::from_millis(1400)).await;
        drop(led);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let v = log.lock().unwrap().clone();
        // Paused: on/off every 700 ms.
        let mut paused: Vec<bool> = v
            .iter()
            .filter(|(t, _)| *t >= t0 && *t < t0 + Duration::from_millis(2900))
            .map(|(_, on)| *on)
            .collect();
        paused.dedup();
        assert_eq!(paused, vec![true, false, true, false, true]);
        // Error: three blinks within the next cycle.
        let error_ons = v
            .iter()
            .filter(|(t, on)| *t >= t0 + Duration::from_millis(3000) && *on)
            .count();
        assert_eq!(error_ons, 3);
        assert_eq!(v.last().map(|x| x.1), Some(false), "off at the end");
    }
}
