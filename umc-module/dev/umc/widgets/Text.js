// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Text" (UCS 5.x): its content is set as innerHTML, so callers
// encode untrusted text. It has no value.
/*global define*/
define([
	"dojo/_base/declare",
	"dijit/_WidgetBase"
], function(declare, _WidgetBase) {
	return declare("umc.widgets.Text", [_WidgetBase], {
		baseClass: 'umcText',
		content: '',

		_setContentAttr: function(content) {
			this._set('content', content);
			this.domNode.innerHTML = content;
		}
	});
});
