// Texts, numbers and dates in the user's language: Arabic (right to left, the default) or English.

const TEXTS = {
  ar: {
    brand: "تواصل",
    tagline: "منصة استقبال طلبات المقابلات",
    sign_in: "تسجيل الدخول",
    username: "اسم المستخدم",
    password: "كلمة المرور",
    sign_out: "تسجيل الخروج",
    switch_language: "English",
    work_list: "قائمة العمل",
    supervisor: "لوحة المشرف",
    presence: "الحالة في الطابور",
    state_logged_out: "خارج الطابور",
    state_ready: "جاهز",
    state_paused: "استراحة",
    state_unknown: "غير معروف",
    go_ready: "جاهز لاستقبال المكالمات",
    go_pause: "إيقاف مؤقت",
    go_logout: "الخروج من الطابور",
    reason_break: "استراحة",
    reason_meeting: "اجتماع",
    reason_training: "تدريب",
    "reason_after-call-work": "عمل ما بعد المكالمة",
    "reason_missed-call": "مكالمة لم يُرد عليها",
    in_state_for: "منذ",
    telephony_off: "الهاتف غير متصل",
    mine: "طلباتي",
    unclaimed: "غير المستلمة",
    all_branch: "كل طلبات الفرع",
    search: "بحث",
    search_hint: "رقم الطلب أو آخر ٤ أرقام من الجوال",
    any_status: "كل الحالات",
    any_channel: "كل القنوات",
    more: "المزيد",
    none_found: "لا توجد طلبات",
    reference: "رقم الطلب",
    status: "الحالة",
    channel: "القناة",
    category: "التصنيف",
    created: "تاريخ الورود",
    official: "المسؤول المطلوب",
    meeting_mode: "نوع المقابلة",
    language: "لغة المتصل",
    callback_number: "رقم التواصل",
    national_id: "رقم الهوية",
    reveal: "إظهار",
    assigned_to: "المسند إليه",
    nobody: "لا أحد",
    voice_message: "الرسالة الصوتية",
    documents: "المستندات",
    no_documents: "لا توجد مستندات",
    history: "السجل",
    notes: "الملاحظات",
    add_note: "إضافة ملاحظة",
    note_text: "نص الملاحظة",
    actions: "الإجراءات",
    appointment: "الموعد",
    back: "رجوع",
    new_request_arrived: "وصل طلب جديد",
    list_updated: "تم تحديث القائمة",
    action_claim: "استلام الطلب",
    action_release: "إعادة إلى القائمة",
    action_verify: "التحقق من الهوية",
    action_approve: "اعتماد",
    action_reject: "رفض",
    action_schedule: "حجز موعد",
    action_complete: "تمت المقابلة",
    action_no_show: "لم يحضر",
    action_cancel: "إلغاء الطلب",
    action_reassign: "إسناد لموظف آخر",
    action_call: "معاودة الاتصال",
    send_code: "إرسال رمز التحقق",
    code: "الرمز",
    check_code: "تحقق",
    code_sent: "أُرسل الرمز إلى جوال مقدم الطلب",
    reason: "السبب",
    sms_parts: "أجزاء رسالة نصية",
    sms_parts_budget: "الحد",
    confirm: "تأكيد",
    user_id: "رقم الموظف",
    choose_slot: "اختر موعداً متاحاً",
    no_slots: "لا توجد مواعيد متاحة",
    free_places: "أماكن متاحة",
    book: "حجز",
    calling: "يرن هاتفك الآن ثم رقم مقدم الطلب",
    call_connected: "تم الاتصال",
    call_not_connected: "لم يتم الاتصال",
    done: "تم",
    screen_pop: "مكالمة واردة",
    caller: "المتصل",
    open_requests: "الطلبات المفتوحة لهذا المتصل",
    new_request: "طلب جديد",
    new_request_for: "إنشاء طلب لهذا الرقم",
    mobile: "الجوال",
    file_request: "تسجيل الطلب",
    close: "إغلاق",
    live_queues: "الطوابير الآن",
    waiting: "في الانتظار",
    longest_wait: "أطول انتظار",
    agents_ready: "جاهزون",
    agents_on_call: "في مكالمة",
    agents_paused: "متوقفون",
    agents_unavailable: "غير متاحين",
    callbacks_pending: "معاودات اتصال معلقة",
    today: "اليوم",
    week: "الأسبوع",
    month: "الشهر",
    service_level: "مستوى الخدمة",
    target: "الهدف",
    asa: "متوسط سرعة الرد",
    aht: "متوسط مدة المعالجة",
    abandonment: "نسبة التخلي",
    forwarding: "الإحالة في نفس اليوم",
    requests_by_status: "الطلبات حسب الحالة",
    requests_by_channel: "الطلبات حسب القناة",
    requests_per_day: "الطلبات يومياً",
    calls_per_hour: "المكالمات في الساعة مقابل الطاقة",
    capacity: "الطاقة",
    split_category: "رجال / نساء / شركات",
    video_hours: "ساعات الاتصال المرئي حسب الفئة",
    export_csv: "تصدير CSV",
    seconds: "ث",
    no_data: "لا توجد بيانات",
    error: "حدث خطأ",
    forbidden: "غير مسموح",
    signed_out: "انتهت الجلسة، سجّل الدخول مرة أخرى",
    status_received: "وارد",
    status_in_review: "قيد المراجعة",
    status_identity_verified: "تم التحقق من الهوية",
    status_approved: "معتمد",
    status_rejected: "مرفوض",
    status_scheduled: "مجدول",
    status_completed: "مكتمل",
    status_no_show: "لم يحضر",
    status_cancelled: "ملغى",
    channel_phone: "هاتف",
    channel_fax: "فاكس",
    channel_telegram: "برقية",
    channel_manual: "حضوري",
    channel_portal: "البوابة الإلكترونية",
    category_man: "رجل",
    category_woman: "امرأة",
    category_company: "شركة",
    category_unknown: "غير مصنف",
    mode_in_person: "حضورية",
    mode_video: "اتصال مرئي",
    lang_ar: "العربية",
    lang_en: "الإنجليزية",
    partial: "غير مكتمل",
  },
  en: {
    brand: "Tawasul",
    tagline: "Meeting requests reception",
    sign_in: "Sign in",
    username: "Username",
    password: "Password",
    sign_out: "Sign out",
    switch_language: "العربية",
    work_list: "Work list",
    supervisor: "Supervisor",
    presence: "Queue state",
    state_logged_out: "Logged out",
    state_ready: "Ready",
    state_paused: "Paused",
    state_unknown: "Unknown",
    go_ready: "Ready for calls",
    go_pause: "Pause",
    go_logout: "Log out of the queue",
    reason_break: "Break",
    reason_meeting: "Meeting",
    reason_training: "Training",
    "reason_after-call-work": "After-call work",
    "reason_missed-call": "Missed call",
    in_state_for: "for",
    telephony_off: "Telephony unavailable",
    mine: "Mine",
    unclaimed: "Unclaimed",
    all_branch: "All of the branch",
    search: "Search",
    search_hint: "Reference or last 4 digits of the mobile",
    any_status: "Any status",
    any_channel: "Any channel",
    more: "More",
    none_found: "No requests",
    reference: "Reference",
    status: "Status",
    channel: "Channel",
    category: "Category",
    created: "Received",
    official: "Official requested",
    meeting_mode: "Meeting",
    language: "Caller's language",
    callback_number: "Callback number",
    national_id: "National ID",
    reveal: "Reveal",
    assigned_to: "Assigned to",
    nobody: "Nobody",
    voice_message: "Voice message",
    documents: "Documents",
    no_documents: "No documents",
    history: "History",
    notes: "Notes",
    add_note: "Add note",
    note_text: "Note",
    actions: "Actions",
    appointment: "Appointment",
    back: "Back",
    new_request_arrived: "A new request arrived",
    list_updated: "List updated",
    action_claim: "Claim",
    action_release: "Release",
    action_verify: "Verify identity",
    action_approve: "Approve",
    action_reject: "Reject",
    action_schedule: "Book a slot",
    action_complete: "Complete",
    action_no_show: "No-show",
    action_cancel: "Cancel request",
    action_reassign: "Reassign",
    action_call: "Call back",
    send_code: "Send a one-time code",
    code: "Code",
    check_code: "Check",
    code_sent: "The code was sent to the requester's mobile",
    reason: "Reason",
    sms_parts: "SMS parts",
    sms_parts_budget: "at most",
    confirm: "Confirm",
    user_id: "Staff id",
    choose_slot: "Choose a free slot",
    no_slots: "No free slots",
    free_places: "free",
    book: "Book",
    calling: "Your softphone rings now, then the requester",
    call_connected: "Connected",
    call_not_connected: "Not connected",
    done: "Done",
    screen_pop: "Incoming call",
    caller: "Caller",
    open_requests: "This caller's open requests",
    new_request: "New request",
    new_request_for: "New request for this number",
    mobile: "Mobile",
    file_request: "File the request",
    close: "Close",
    live_queues: "Queues now",
    waiting: "Waiting",
    longest_wait: "Longest wait",
    agents_ready: "Ready",
    agents_on_call: "On a call",
    agents_paused: "Paused",
    agents_unavailable: "Unavailable",
    callbacks_pending: "Callbacks pending",
    today: "Today",
    week: "Week",
    month: "Month",
    service_level: "Service level",
    target: "target",
    asa: "ASA",
    aht: "AHT",
    abandonment: "Abandonment",
    forwarding: "Same-day forwarding",
    requests_by_status: "Requests by status",
    requests_by_channel: "Requests by channel",
    requests_per_day: "Requests per day",
    calls_per_hour: "Calls per hour against capacity",
    capacity: "capacity",
    split_category: "Men / women / companies",
    video_hours: "Video-call hours by category",
    export_csv: "Export CSV",
    seconds: "s",
    no_data: "No data",
    error: "Something went wrong",
    forbidden: "Not allowed",
    signed_out: "Your session ended: sign in again",
    status_received: "Received",
    status_in_review: "In review",
    status_identity_verified: "Identity verified",
    status_approved: "Approved",
    status_rejected: "Rejected",
    status_scheduled: "Scheduled",
    status_completed: "Completed",
    status_no_show: "No-show",
    status_cancelled: "Cancelled",
    channel_phone: "Phone",
    channel_fax: "Fax",
    channel_telegram: "Telegram",
    channel_manual: "Walk-in",
    channel_portal: "E-services portal",
    category_man: "Man",
    category_woman: "Woman",
    category_company: "Company",
    category_unknown: "Unclassified",
    mode_in_person: "In person",
    mode_video: "Video call",
    lang_ar: "Arabic",
    lang_en: "English",
    partial: "incomplete",
  },
};

const STORAGE_KEY = "tawasul.language";
let current = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "ar";

export function language() {
  return current;
}

export function setLanguage(value) {
  current = value === "en" ? "en" : "ar";
  localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current;
  document.documentElement.dir = current === "ar" ? "rtl" : "ltr";
}

export function t(key) {
  const found = TEXTS[current][key];
  return found === undefined ? key : found;
}

function locale() {
  return current === "ar" ? "ar-SA" : "en-GB";
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  }).format(value);
}

export function percent(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(
    value / 100,
  );
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  const pad = new Intl.NumberFormat(locale(), { minimumIntegerDigits: 2 });
  return `${number(minutes)}:${pad.format(rest)}`;
}

const TIMEZONE = "Asia/Riyadh";

export function gregorian(iso, withTime = true) {
  const options = { calendar: "gregory", year: "numeric", month: "short", day: "numeric", timeZone: TIMEZONE };
  if (withTime) Object.assign(options, { hour: "2-digit", minute: "2-digit" });
  return new Intl.DateTimeFormat(`${locale()}-u-ca-gregory`, options).format(new Date(iso));
}

export function hijri(iso) {
  return new Intl.DateTimeFormat(`${locale()}-u-ca-islamic-umalqura`, {
    year: "numeric",
    month: "long",
    day: "numeric",
    timeZone: TIMEZONE,
  }).format(new Date(iso));
}

// A moment as the API dumps it ({utc, hijri: {ar, en}, ...}): both calendars.
export function bothCalendars(moment) {
  if (!moment) return "—";
  const hijriText = moment.hijri ? moment.hijri[current] : hijri(moment.utc);
  return `${gregorian(moment.utc)} · ${hijriText}`;
}

export function translateStatic(root = document) {
  for (const element of root.querySelectorAll("[data-t]")) {
    element.textContent = t(element.dataset.t);
  }
  for (const element of root.querySelectorAll("[data-t-placeholder]")) {
    element.placeholder = t(element.dataset.tPlaceholder);
  }
  for (const element of root.querySelectorAll("[data-t-label]")) {
    element.setAttribute("aria-label", t(element.dataset.tLabel));
  }
}
