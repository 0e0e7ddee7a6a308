// The ring: a tone made with Web Audio (no sound file to fetch, so it works offline), and a
// desktop notification when the console's tab is hidden.

let context = null;
let timer = null;
let notice = null;

// Called from a click (sign-in, Ready): browsers only let a page make sound after the user acted.
export function unlockSound() {
  if (!context) context = new AudioContext();
  if (context.state === "suspended") context.resume().catch(() => {});
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

function burst() {
  if (!context) return;
  const gain = context.createGain();
  gain.gain.value = 0.15;
  gain.connect(context.destination);
  // Two tones, 1 s on: the ring of a telephone in Saudi Arabia and much of the world (425 Hz is
  // the ITU's ringing tone; the second tone makes it heard over office noise).
  for (const frequency of [425, 480]) {
    const tone = context.createOscillator();
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start();
    tone.stop(context.currentTime + 1);
  }
}

// A console reopened in a signed-in session had no click yet: the first one unlocks the sound.
document.addEventListener("click", unlockSound, { once: true, capture: true });

export function startRinging(title, body) {
  stopRinging();
  burst();
  timer = setInterval(burst, 3000);
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    notice = new Notification(title, { body, tag: "tawasul-call", requireInteraction: true });
    notice.onclick = () => {
      window.focus();
      notice.close();
    };
  }
}

export function stopRinging() {
  if (timer) clearInterval(timer);
  timer = null;
  if (notice) notice.close();
  notice = null;
}
